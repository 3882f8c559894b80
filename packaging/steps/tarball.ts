// Step 4, tarball: dist/sparkngin-VERSION-linux-ARCH.tar.gz, one top directory that runs where it is
// untarred: bin/sparkngin, lib/sparkngin/ (native addons live beside the executable: a SEA cannot
// hold them; the rule is <dir of executable>/../lib/sparkngin, the same in the RPM), etc/, man/,
// systemd/, install.sh. The RPM and .deb are built from this tarball, so all three carry the same files.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, names } from '../context';
import { inParallel, run, runAsync } from '../exec';
import type { Target } from '../targets';
import type { Step } from './step';

export const tarball: Step = {
  name: 'tarball',
  produces: 'dist/sparkngin-VERSION-linux-ARCH.tar.gz',
  async run(ctx) {
    // gzip is single-threaded: one target per core.
    await inParallel(
      2,
      ctx.targets.map((target) => async () => {
        const base = names.tarballBase(ctx, target);
        const stage = join(ctx.work, 'tarball', target.name);
        rmSync(stage, { recursive: true, force: true });
        stageTree(ctx, target, join(stage, base));
        // Reproducible: sorted names, fixed owner and mtime, no gzip timestamp.
        const tar = join(ctx.work, 'tarball', `${base}.tar`);
        run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${Math.floor(ctx.date.getTime() / 1000)}`, '-cf', tar, '-C', stage, base]);
        await runAsync('gzip', ['-n', '-6', '-f', tar]);
        copyFileSync(`${tar}.gz`, names.tarball(ctx, target));
        rmSync(`${tar}.gz`);
        rmSync(stage, { recursive: true, force: true });
        ctx.log(`tarball ${target.name}: ${names.tarball(ctx, target)}`);
      }),
    );
  },
};

function stageTree(ctx: Context, target: Target, top: string): void {
  const assets = join(ctx.root, 'packaging/assets');
  const put = (from: string, to: string, mode: number, fill?: (text: string) => string) => {
    const dest = join(top, to);
    mkdirSync(join(dest, '..'), { recursive: true });
    if (fill) writeFileSync(dest, fill(readFileSync(from, 'utf8')));
    else copyFileSync(from, dest);
    chmodSync(dest, mode);
  };
  put(names.binary(ctx, target), 'bin/sparkngin', 0o755);
  mkdirSync(join(top, 'lib/sparkngin'), { recursive: true });
  put(join(assets, 'sparkngin.yaml'), 'etc/sparkngin.yaml', 0o644, (text) => renderConfig(text, 'tarball'));
  put(names.manPage(ctx), 'man/man8/sparkngin.8', 0o644);
  put(join(assets, 'sparkngin.service'), 'systemd/sparkngin.service', 0o644, (text) => renderUnit(text, '/usr/local/bin', '/etc/sparkngin'));
  put(join(ctx.root, 'packaging/tarball/install.sh'), 'install.sh', 0o755);
  put(join(ctx.root, 'packaging/tarball/README'), 'README', 0o644, (text) => text.replaceAll('@VERSION@', ctx.version).replaceAll('@TARGET@', target.name));
  put(join(ctx.root, 'docs/guide.md'), 'GUIDE.md', 0o644);
  put(join(assets, 'LICENSE'), 'LICENSE', 0o644);
}

/** The default config for a tarball (data under the working directory) or a system package. */
export function renderConfig(template: string, flavour: 'tarball' | 'system'): string {
  const [dir, note] =
    flavour === 'tarball'
      ? ['./data', 'A relative path is taken from the directory sparkngin is started in.']
      : ['/var/lib/sparkngin', 'Owned by the sparkngin user; the systemd unit creates it (StateDirectory).'];
  return template.replace('@DATA_DIR@', dir).replace('@DATA_DIR_NOTE@', note);
}

export function renderUnit(template: string, bindir: string, sysconfdir: string): string {
  return template.replace('@BINDIR@', bindir).replace('@SYSCONFDIR@', sysconfdir);
}
