// Step 2, binary: one single executable per target (Node's SEA): dist/bin/sparkngin-<target>.
// The blob is made by the pinned Node of this machine (a blob must come from the exact Node version
// it goes into) and injected with postject into a copy of each target's Node binary (stripped, for
// ELF). In a Mach-O it goes to the NODE_SEA segment, where Node looks for it; postject drops the
// Mach-O's code signature, which the codesign step puts back.
// The executable's main script is `seaRunner()` (src/delivery/protocol.ts): it runs the bundle, an
// asset the delivery threads run too, with a V8 code cache made after a warm start of it
// (packaging/sea/code-cache.cjs). Only the target this machine is gets that cache: it is tied to the
// V8 build and flags that made it; every other target's blob lacks it and compiles as it runs.
// `useSnapshot` cannot be had: the script loads node:http at start, whose parser binding V8 cannot
// put in a user snapshot ("global handle not serialized", Node 22.23).
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BUNDLE_ASSET, CODE_CACHE_ASSET, SEA_WRAP, seaRunner } from '../../src/delivery/protocol';
import { names } from '../context';
import { run } from '../exec';
import { injectableNodeBinary, nodeBinary } from '../node-dist';
import { hostTarget } from '../targets';
import type { Step } from './step';

/** Node's options the executable runs with (the code cache is made under the same). */
const SEA_EXEC_ARGV: string[] = [];

/** Node's documented sentinel: the fuse postject flips so the binary looks for its blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

type Inject = (file: string, resource: string, data: Buffer, options: { sentinelFuse: string; machoSegmentName: string }) => Promise<void>;

export const binary: Step = {
  name: 'binary',
  produces: 'dist/bin/sparkngin-<target>',
  os: ['linux', 'darwin'],
  async run(ctx) {
    const workDir = join(ctx.work, 'sea');
    mkdirSync(workDir, { recursive: true });
    // The blob maker must be the pinned version itself: the one for this machine.
    const maker = hostTarget();
    if (!maker) throw new Error(`binary: no pinned Node runs on ${process.platform}-${process.arch}; build on linux-x64 or linux-arm64`);
    const bundle = join(ctx.root, 'build/sparkngin.cjs');
    const main = join(workDir, 'main.cjs');
    writeFileSync(main, seaRunner());
    const makeBlob = (name: string, codeCache: string | undefined): Buffer => {
      const blob = join(workDir, `${name}.blob`);
      const seaConfig = join(workDir, `${name}.json`);
      writeFileSync(
        seaConfig,
        JSON.stringify({
          main,
          output: blob,
          // The delivery threads run the same script; an executable has no file of it to point a Worker at.
          assets: { [BUNDLE_ASSET]: bundle, ...(codeCache === undefined ? {} : { [CODE_CACHE_ASSET]: codeCache }) },
          disableExperimentalSEAWarning: true,
          useSnapshot: false,
          useCodeCache: false,
          execArgv: SEA_EXEC_ARGV,
        }),
      );
      run(nodeBinary(ctx, maker), ['--experimental-sea-config', seaConfig]);
      return readFileSync(blob);
    };
    const plainBlob = makeBlob('sparkngin', undefined);
    let cachedBlob = plainBlob;
    if (ctx.targets.includes(maker)) {
      const codeCache = join(workDir, 'sparkngin.code-cache');
      run(nodeBinary(ctx, maker), [...SEA_EXEC_ARGV, join(ctx.root, 'packaging/sea/code-cache.cjs'), bundle, codeCache, ...SEA_WRAP]);
      cachedBlob = makeBlob('sparkngin-code-cache', codeCache);
    }
    const { inject } = createRequire(join(ctx.root, 'package.json'))('postject') as { inject: Inject };

    for (const target of ctx.targets) {
      const out = names.binary(ctx, target);
      mkdirSync(dirname(out), { recursive: true });
      const tmp = join(workDir, `sparkngin-${target.name}`);
      rmSync(tmp, { force: true });
      copyFileSync(injectableNodeBinary(ctx, target), tmp);
      chmodSync(tmp, 0o755);
      // The segment name only applies to Mach-O; ELF gets a note section.
      const blobData = target === maker ? cachedBlob : plainBlob;
      await silenced(() => inject(tmp, 'NODE_SEA_BLOB', blobData, { sentinelFuse: SEA_FUSE, machoSegmentName: 'NODE_SEA' }));
      renameSync(tmp, out);
      if (target === hostTarget()) {
        const printed = run(out, ['version']).trim();
        if (!printed.includes(`sparkngin ${ctx.version} (commit ${ctx.commit}, ${target.name}`)) {
          throw new Error(`binary: ${out} printed '${printed}', expected version ${ctx.version}, commit ${ctx.commit}`);
        }
      }
      ctx.log(`binary ${target.name}: ${out}`);
    }
  },
};

/**
 * postject logs a banner per injection, and its ELF library warns a dozen times about Node's
 * unnamed note sections (harmless: the binary runs, and the tests prove it); keep the log readable.
 */
async function silenced(action: () => Promise<void>): Promise<void> {
  const { log, error, warn } = console;
  console.log = console.error = console.warn = () => undefined;
  try {
    await action();
  } finally {
    Object.assign(console, { log, error, warn });
  }
}
