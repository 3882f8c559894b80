// What dist/ is made from, as one hash: every tracked or new file under the source and packaging
// folders, the commit (the executables print it), and the settings that change the output. Tests
// compare it with dist/.inputs to rebuild only when something changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from './context';
import { NODE_VERSION } from './targets';

const SOURCES = ['src', 'packaging', 'rpm', 'repo', 'man', 'deb', 'dmg', 'scripts/deps/rcodesign.sh', 'docs/guide.md', 'scripts/build.mjs', 'package.json', 'package-lock.json'];

export function inputsHash(ctx: Context): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ commit: ctx.commit, version: ctx.version, node: NODE_VERSION, targets: ctx.targets.map((t) => t.name), repoUrl: ctx.repoUrl, aptUrl: ctx.aptUrl, releaseKey: Boolean(process.env.SPARKNGIN_GPG_PRIVATE_KEY ?? process.env.SPARKNGIN_GPG_KEY_FILE) }));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...SOURCES], { cwd: ctx.root })
    .toString()
    .split('\0')
    .filter(Boolean)
    .sort();
  for (const file of files) {
    const path = join(ctx.root, file);
    hash.update(`${file}\0`);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest('hex');
}

export const stampFile = (ctx: Context) => join(ctx.dist, '.inputs');
