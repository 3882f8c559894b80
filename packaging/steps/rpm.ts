// Step 7, rpm: dist/rpm/sparkngin-VERSION-1.elN.ARCH.rpm for every EL release and target, built by
// rpmbuild from rpm/sparkngin.spec and the tarball of step 6 (so the RPM carries exactly the
// tarball's executable). Unsigned: the repo step signs the copies it publishes.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Context, packageVersion } from '../context';
import { inParallel, requireTools, runAsync } from '../exec';
import { defaultConfig, nagiosConfig, systemdUnit } from '../render';
import { EL_RELEASES, type Target } from '../targets';
import type { Step } from './step';
import { tarballBase, tarballPath } from './tarball';

/** RPM's name for the architecture. */
export const rpmArch = (target: Target) => ({ x64: 'x86_64', arm64: 'aarch64' })[target.arch];
export const rpmDir = (ctx: Context) => join(ctx.dist, 'rpm');
export const rpmPath = (ctx: Context, target: Target, el: string, release = '1') =>
  join(rpmDir(ctx), `sparkngin-${packageVersion(ctx.version)}-${release}.${el}.${rpmArch(target)}.rpm`);

export const rpm: Step = {
  name: 'rpm',
  produces: 'dist/rpm/sparkngin-VERSION-1.elN.ARCH.rpm',
  os: ['linux'],
  async run(ctx) {
    requireTools('rpm', { rpmbuild: 'rpm' });
    rmSync(rpmDir(ctx), { recursive: true, force: true });
    const jobs = ctx.targets.flatMap((target) =>
      EL_RELEASES.map((el) => async () => {
        const file = await buildRpm(ctx, target, el, { outDir: rpmDir(ctx) });
        ctx.log(`rpm ${el} ${rpmArch(target)}: ${file}`);
      }),
    );
    await inParallel(2, jobs);
  },
};

export interface RpmOptions {
  outDir: string;
  release?: string;
  /** Replaces the packaged /etc/sparkngin/sparkngin.yaml (tests build an upgrade whose default changed). */
  config?: string;
  /** No payload compression: for throwaway test packages, seconds faster. */
  uncompressed?: boolean;
}

/** Builds one RPM; returns its path. Exported for tests that need a second release. */
export async function buildRpm(ctx: Context, target: Target, el: string, options: RpmOptions): Promise<string> {
  const release = options.release ?? '1';
  const top = join(ctx.work, 'rpmbuild', `${el}-${rpmArch(target)}-${release}`);
  rmSync(top, { recursive: true, force: true });
  const sources = join(top, 'SOURCES');
  mkdirSync(sources, { recursive: true });
  mkdirSync(options.outDir, { recursive: true });
  copyFileSync(tarballPath(ctx, target), join(sources, `${tarballBase(ctx, target)}.tar.gz`));
  writeFileSync(join(sources, 'sparkngin.yaml'), options.config ?? defaultConfig(ctx.root, 'system'));
  writeFileSync(join(sources, 'sparkngin.service'), systemdUnit(ctx.root, '/usr/bin', '/etc/sparkngin'));
  writeFileSync(join(sources, 'sparkngin-nagios.cfg'), nagiosConfig(ctx.root, '/usr/bin', '/usr/share/sparkngin/nagios/sparkngin.cfg'));
  copyFileSync(join(ctx.root, 'packaging/assets/sparkngin.sysusers'), join(sources, 'sparkngin.sysusers'));

  const define = (name: string, value: string) => ['--define', `${name} ${value}`];
  await runAsync(
    'rpmbuild',
    [
      '-bb',
      '--quiet',
      '--target',
      `${rpmArch(target)}-redhat-linux`,
      ...define('_topdir', top),
      ...define('_rpmdir', options.outDir),
      ...define('_build_name_fmt', '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm'),
      ...define('dist', `.${el}`),
      ...define('upstream_version', ctx.version),
      ...define('sparkngin_version', packageVersion(ctx.version)),
      ...define('sparkngin_release', release),
      // xz, not zstd (EL 8's rpm may lack zstd); level 1 with threads: ~7 s per package instead of ~45 s
      // at the default level 6, for 30 MB instead of 26 MB.
      ...define('_binary_payload', options.uncompressed ? 'w0.ufdio' : 'w1T.xzdio'),
      ...define('_buildhost', 'sparkngin-build'),
      ...define('use_source_date_epoch_as_buildtime', '1'),
      ...define('clamp_mtime_to_source_date_epoch', '1'),
      join(ctx.root, 'rpm/sparkngin.spec'),
    ],
    { env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(ctx.date.getTime() / 1000)) } },
  );
  rmSync(top, { recursive: true, force: true });
  return join(options.outDir, basename(rpmPath(ctx, target, el, release)));
}
