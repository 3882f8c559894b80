// Step 6, tarball: dist/sparkngin-VERSION-linux-ARCH.tar.gz, one top directory that runs where it is
// untarred: bin/sparkngin, lib/sparkngin/ (native addons live beside the executable: a SEA cannot
// hold them; the rule is <dir of executable>/../lib/sparkngin, the same in the RPM), etc/, man/,
// systemd/, nagios/ (object definitions for `sparkngin check`), install.sh. The RPM and .deb are built from this tarball, so all three carry the same files.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, names } from '../context';
import { inParallel, run, runAsync } from '../exec';
import { defaultConfig, nagiosConfig, systemdUnit } from '../render';
import { stager } from '../stage';
import type { Target } from '../targets';
import type { Step } from './step';

/** The tarball's top directory, sparkngin-VERSION-TARGET, and the tarball itself. */
export const tarballBase = (ctx: Context, target: Target) => `sparkngin-${ctx.version}-${target.name}`;
export const tarballPath = (ctx: Context, target: Target) => join(ctx.dist, `${tarballBase(ctx, target)}.tar.gz`);

export const tarball: Step = {
  name: 'tarball',
  produces: 'dist/sparkngin-VERSION-linux-ARCH.tar.gz',
  os: ['linux'],
  async run(ctx) {
    // gzip is single-threaded: one target per core.
    await inParallel(
      2,
      ctx.targets.map((target) => async () => {
        const base = tarballBase(ctx, target);
        const stage = join(ctx.work, 'tarball', target.name);
        rmSync(stage, { recursive: true, force: true });
        stageTree(ctx, target, join(stage, base));
        // Reproducible: sorted names, fixed owner and mtime, no gzip timestamp.
        const tar = join(ctx.work, 'tarball', `${base}.tar`);
        run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${Math.floor(ctx.date.getTime() / 1000)}`, '-cf', tar, '-C', stage, base]);
        await runAsync('gzip', ['-n', '-6', '-f', tar]);
        copyFileSync(`${tar}.gz`, tarballPath(ctx, target));
        rmSync(`${tar}.gz`);
        rmSync(stage, { recursive: true, force: true });
        ctx.log(`tarball ${target.name}: ${tarballPath(ctx, target)}`);
      }),
    );
  },
};

function stageTree(ctx: Context, target: Target, top: string): void {
  const assets = join(ctx.root, 'packaging/assets');
  const put = stager(top);
  put('bin/sparkngin', 0o755, { file: names.binary(ctx, target) });
  mkdirSync(join(top, 'lib/sparkngin'), { recursive: true });
  for (const addon of readdirSync(names.addons(ctx, target))) put(`lib/sparkngin/${addon}`, 0o755, { file: join(names.addons(ctx, target), addon) });
  put('etc/sparkngin.yaml', 0o644, defaultConfig(ctx.root, 'tarball'));
  put('man/man8/sparkngin.8', 0o644, { file: names.manPage(ctx) });
  put('systemd/sparkngin.service', 0o644, systemdUnit(ctx.root, '/usr/local/bin', '/etc/sparkngin'));
  // For install.sh's default prefix; it rewrites both paths for another one.
  put('nagios/sparkngin.cfg', 0o644, nagiosConfig(ctx.root, '/usr/local/bin', '/usr/local/share/sparkngin/nagios/sparkngin.cfg'));
  put('install.sh', 0o755, { file: join(ctx.root, 'packaging/tarball/install.sh') });
  put('README', 0o644, readFileSync(join(ctx.root, 'packaging/tarball/README'), 'utf8').replaceAll('@VERSION@', ctx.version).replaceAll('@TARGET@', target.name));
  put('GUIDE.md', 0o644, { file: join(ctx.root, 'docs/guide.md') });
  put('LICENSE', 0o644, { file: join(assets, 'LICENSE') });
}
