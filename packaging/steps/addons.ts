// Step 3, addons: the native addons each target's executable loads from
// <dir of the executable>/../lib/sparkngin/ (a SEA cannot hold a .node file; src/zeromq/load-addon.ts
// loads it), into dist/lib/<target>/. Today: the ZeroMQ addon, zeromq's own prebuilt N-API build
// (one build serves every Node version from 12 on). Linux takes the glibc build made for Node 22's
// ABI (127): it needs GLIBC_2.25 and GLIBCXX_3.4.22 at most, under EL 8's 2.28 and 3.4.25 (the
// other glibc builds in the package need 2.38), and links libzmq in.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { names } from '../context';
import type { Target } from '../targets';
import type { Step } from './step';

/** The addon files of a target: name in lib/sparkngin/ → path inside the zeromq npm package. */
const ADDONS: Partial<Record<Target['name'], Record<string, string>>> = {
  'linux-x64': { 'zeromq.node': 'build/linux/x64/node/glibc-127-Release/addon.node' },
  'linux-arm64': { 'zeromq.node': 'build/linux/arm64/node/glibc-127-Release/addon.node' },
  'darwin-x64': { 'zeromq.node': 'build/darwin/x64/node/libc-115-Release/addon.node' },
  'darwin-arm64': { 'zeromq.node': 'build/darwin/arm64/node/libc-115-Release/addon.node' },
};

export class NoAddonsError extends Error {
  constructor(target: string) {
    super(`addons: no addon list for ${target} in packaging/steps/addons.ts`);
  }
}

export const addons: Step = {
  name: 'addons',
  produces: 'dist/lib/<target>/*.node',
  os: ['linux', 'darwin'],
  run(ctx) {
    const zeromq = dirname(createRequire(join(ctx.root, 'package.json')).resolve('zeromq/package.json'));
    for (const target of ctx.targets) {
      const files = ADDONS[target.name];
      if (!files) throw new NoAddonsError(target.name);
      const dir = names.addons(ctx, target);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const [name, from] of Object.entries(files)) copyFileSync(join(zeromq, from), join(dir, name));
      ctx.log(`addons ${target.name}: ${Object.keys(files).join(', ')}`);
    }
  },
};
