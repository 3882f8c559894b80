// Step 8, repo: dist/repo/, the signed yum repository as it is published:
//   RPM-GPG-KEY-sparkngin            public key (packages and metadata)
//   setup.sh                         the one-line setup users run (repo/setup.sh, URL filled in)
//   el8|el9/sparkngin.repo           for manual setup (what setup.sh writes)
//   el8|el9/x86_64|aarch64/          Packages/*.rpm signed with rpm --addsign; repodata/ from
//                                    createrepo_c; repodata/repomd.xml.asc detached signature
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Context } from '../context';
import { requireTools, run } from '../exec';
import { type Signer, signDetached, signer, signRpms } from '../signing';
import { EL_RELEASES } from '../targets';
import { rpmArch, rpmDir } from './rpm';
import type { Step } from './step';

export const repoDir = (ctx: Context) => join(ctx.dist, 'repo');

export const repo: Step = {
  name: 'repo',
  produces: 'dist/repo/ (signed yum repository)',
  os: ['linux'],
  run(ctx) {
    requireTools('repo', { createrepo_c: 'createrepo-c', rpm: 'rpm' });
    const key = signer(ctx);
    if (key.ephemeral) ctx.log(`repo: signed with the THROWAWAY CI key ${key.fingerprint}: not for publishing`);
    const root = repoDir(ctx);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'RPM-GPG-KEY-sparkngin'), key.publicKey);
    const setup = join(root, 'setup.sh');
    writeFileSync(setup, readFileSync(join(ctx.root, 'repo/setup.sh'), 'utf8').replaceAll('@REPO_URL@', ctx.repoUrl), { mode: 0o755 });
    for (const el of EL_RELEASES) {
      mkdirSync(join(root, el), { recursive: true });
      writeFileSync(join(root, el, 'sparkngin.repo'), run('sh', [setup, '--print-repo', el]));
      for (const target of ctx.targets) {
        const tree = join(root, el, rpmArch(target));
        const packages = join(tree, 'Packages');
        mkdirSync(packages, { recursive: true });
        const rpms = readdirSync(rpmDir(ctx)).filter((f) => f.endsWith(`.${el}.${rpmArch(target)}.rpm`));
        if (rpms.length === 0) throw new Error(`repo: no ${el} ${rpmArch(target)} RPM in ${rpmDir(ctx)} (run the rpm step)`);
        for (const file of rpms) copyFileSync(join(rpmDir(ctx), file), join(packages, file));
        signRpms(key, rpms.map((file) => join(packages, file)));
        indexTree(ctx, key, tree);
      }
    }
  },
};

/** (Re)builds repodata/ for a tree of RPMs and signs repomd.xml. Exported for tests that change a tree. */
export function indexTree(ctx: Context, key: Signer, tree: string): void {
  const revision = String(Math.floor(ctx.date.getTime() / 1000));
  rmSync(join(tree, 'repodata'), { recursive: true, force: true });
  // No sqlite databases: dnf reads the XML; gz metadata reads everywhere.
  run('createrepo_c', ['--quiet', '--no-database', '--general-compress-type=gz', `--revision=${revision}`, '--set-timestamp-to-revision', tree]);
  signDetached(key, join(tree, 'repodata', 'repomd.xml'));
  ctx.log(`repo: ${basename(join(tree, '..'))}/${basename(tree)} indexed and signed`);
}
