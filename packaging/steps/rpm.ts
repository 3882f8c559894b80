// Step 5, rpm: dist/rpm/sparkngin-VERSION-1.elN.ARCH.rpm for every EL release and target, built by
// rpmbuild from rpm/sparkngin.spec and the tarball of step 4 (so the RPM carries exactly the
// tarball's executable). Unsigned: the repo step signs the copies it publishes.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, names, packageVersion } from '../context';
import { inParallel, requireTools, runAsync } from '../exec';
import { EL_RELEASES, type Target } from '../targets';
import type { Step } from './step';
import { renderConfig, renderUnit } from './tarball';

export const rpm: Step = {
  name: 'rpm',
  produces: 'dist/rpm/sparkngin-VERSION-1.elN.ARCH.rpm',
  async run(ctx) {
    requireTools('rpm', { rpmbuild: 'rpm' });
    rmSync(names.rpmDir(ctx), { recursive: true, force: true });
    const jobs = ctx.targets.flatMap((target) =>
      EL_RELEASES.map((el) => async () => {
        const file = await buildRpm(ctx, target, el, { outDir: names.rpmDir(ctx) });
        ctx.log(`rpm ${el} ${target.rpmArch}: ${file}`);
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
  const top = join(ctx.work, 'rpmbuild', `${el}-${target.rpmArch}-${release}`);
  rmSync(top, { recursive: true, force: true });
  const sources = join(top, 'SOURCES');
  mkdirSync(sources, { recursive: true });
  mkdirSync(options.outDir, { recursive: true });
  const assets = join(ctx.root, 'packaging/assets');
  copyFileSync(names.tarball(ctx, target), join(sources, `${names.tarballBase(ctx, target)}.tar.gz`));
  writeFileSync(join(sources, 'sparkngin.yaml'), options.config ?? renderConfig(readFileSync(join(assets, 'sparkngin.yaml'), 'utf8'), 'system'));
  writeFileSync(join(sources, 'sparkngin.service'), renderUnit(readFileSync(join(assets, 'sparkngin.service'), 'utf8'), '/usr/bin', '/etc/sparkngin'));
  copyFileSync(join(assets, 'sparkngin.sysusers'), join(sources, 'sparkngin.sysusers'));

  const define = (name: string, value: string) => ['--define', `${name} ${value}`];
  await runAsync(
    'rpmbuild',
    [
      '-bb',
      '--quiet',
      '--target',
      `${target.rpmArch}-redhat-linux`,
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
  return join(options.outDir, `sparkngin-${packageVersion(ctx.version)}-${release}.${el}.${target.rpmArch}.rpm`);
}
