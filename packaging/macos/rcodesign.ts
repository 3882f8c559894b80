// rcodesign (crate apple-codesign), the Mach-O signer that runs on Linux: built once into the cache
// by scripts/deps/rcodesign.sh, which this calls (it returns at once when the tool is there).
import { join } from 'node:path';
import type { Context } from '../context';
import { run } from '../exec';

export function rcodesign(ctx: Context): string {
  return run('bash', [join(ctx.root, 'scripts/deps/rcodesign.sh')], { env: { ...process.env, SPARKNGIN_CACHE: ctx.cache } }).trim().split('\n').pop()!;
}
