// Step 9, deb: dist/deb/sparkngin_VERSION-1_ARCH.deb for Debian 10+ / Ubuntu 18.10+ (glibc 2.28),
// built with dpkg-deb from the tarball of step 6 and the control files in deb/ (no debhelper:
// the maintainer scripts are written out, as in the RPM spec).
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, packageVersion } from '../context';
import { inParallel, requireTools, run, runAsync } from '../exec';
import { defaultConfig, nagiosConfig, systemdUnit } from '../render';
import { stager } from '../stage';
import type { Target } from '../targets';
import type { Step } from './step';
import { tarballBase, tarballPath } from './tarball';

/** Debian's name for the architecture. */
export const debArch = (target: Target) => ({ x64: 'amd64', arm64: 'arm64' })[target.arch];

export const deb: Step = {
  name: 'deb',
  produces: 'dist/deb/sparkngin_VERSION-1_ARCH.deb',
  os: ['linux'],
  async run(ctx) {
    requireTools('deb', { 'dpkg-deb': 'dpkg' });
    rmSync(join(ctx.dist, 'deb'), { recursive: true, force: true });
    await inParallel(
      2,
      ctx.targets.map((target) => async () => {
        const file = await buildDeb(ctx, target, { outDir: join(ctx.dist, 'deb') });
        ctx.log(`deb ${debArch(target)}: ${file}`);
      }),
    );
  },
};

export function debFileName(ctx: Context, target: Target, revision = '1'): string {
  return `sparkngin_${packageVersion(ctx.version)}-${revision}_${debArch(target)}.deb`;
}

/** Builds one .deb; returns its path. Exported for tests that need a second revision (uncompressed: faster). */
export async function buildDeb(ctx: Context, target: Target, options: { outDir: string; revision?: string; config?: string; uncompressed?: boolean }): Promise<string> {
  const revision = options.revision ?? '1';
  const work = join(ctx.work, 'deb', `${debArch(target)}-${revision}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('tar', ['-xzf', tarballPath(ctx, target), '-C', work]);
  const from = join(work, tarballBase(ctx, target));
  const tree = join(work, 'root');
  const assets = join(ctx.root, 'packaging/assets');
  const put = stager(tree);
  put('usr/bin/sparkngin', 0o755, { file: join(from, 'bin/sparkngin') });
  mkdirSync(join(tree, 'usr/lib/sparkngin'), { recursive: true });
  run('cp', ['-R', `${join(from, 'lib/sparkngin')}/.`, join(tree, 'usr/lib/sparkngin')]);
  put('etc/sparkngin/sparkngin.yaml', 0o640, options.config ?? defaultConfig(ctx.root, 'system'));
  put('lib/systemd/system/sparkngin.service', 0o644, systemdUnit(ctx.root, '/usr/bin', '/etc/sparkngin'));
  put('usr/lib/sysusers.d/sparkngin.conf', 0o644, { file: join(assets, 'sparkngin.sysusers') });
  put('usr/share/man/man8/sparkngin.8', 0o644, { file: join(from, 'man/man8/sparkngin.8') });
  run('gzip', ['-9n', join(tree, 'usr/share/man/man8/sparkngin.8')]);
  put('usr/share/doc/sparkngin/GUIDE.md', 0o644, { file: join(from, 'GUIDE.md') });
  put('usr/share/sparkngin/nagios/sparkngin.cfg', 0o644, nagiosConfig(ctx.root, '/usr/bin', '/usr/share/sparkngin/nagios/sparkngin.cfg'));
  put('usr/share/doc/sparkngin/copyright', 0o644, `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: sparkngin\n\nFiles: *\nLicense: Apache-2.0\n On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.\n`);

  const control = join(tree, 'DEBIAN');
  mkdirSync(control, { recursive: true });
  const sizeKiB = Math.ceil(du(tree) / 1024);
  writeFileSync(
    join(control, 'control'),
    readFileSync(join(ctx.root, 'deb/control'), 'utf8')
      .replace('@VERSION@', `${packageVersion(ctx.version)}-${revision}`)
      .replace('@ARCH@', debArch(target))
      .replace('@SIZE@', String(sizeKiB)),
  );
  for (const script of ['postinst', 'prerm', 'postrm']) put(`DEBIAN/${script}`, 0o755, { file: join(ctx.root, 'deb', script) });
  put('DEBIAN/conffiles', 0o644, { file: join(ctx.root, 'deb/conffiles') });

  mkdirSync(options.outDir, { recursive: true });
  const out = join(options.outDir, debFileName(ctx, target, revision));
  // xz level 1, as for the RPMs: seconds instead of a minute for a 100 MB executable.
  await runAsync('dpkg-deb', ['--root-owner-group', ...(options.uncompressed ? ['-Znone'] : ['-Zxz', '-z1']), '--build', tree, out], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(ctx.date.getTime() / 1000)) },
  });
  rmSync(work, { recursive: true, force: true });
  return out;
}

function du(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? du(path) : statSync(path).size);
  }, 0);
}
