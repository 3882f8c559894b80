// Shared by the dist tests: build dist/ once (or not at all when it is up to date), and run the
// outside tools the way the tests need them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { type Context, createContext } from '../../packaging/context';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Enough for a cold build on the 2-core CI machine (downloads included), which one file does
 *  while the others wait on the lock. */
export const DIST_TIMEOUT_MS = 720_000;

/**
 * Makes sure dist/ matches the sources: `npm run dist -- --if-stale` under a lock, so that test
 * files running in parallel build it once. A no-op (about a second) when nothing changed.
 */
export function ensureDist(): Context {
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  const result = spawnSync('flock', [join(ROOT, 'build/dist.lock'), process.execPath, join(ROOT, 'packaging/dist.mjs'), '--if-stale'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: DIST_TIMEOUT_MS - 10_000,
  });
  if (result.status !== 0) throw new Error(`npm run dist failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  return createContext({ root: ROOT });
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and returns what it printed; never throws on a non-zero exit. */
export function sh(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Ran {
  const result = spawnSync(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 120_000,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

/** Like sh, but throws with the output when the command fails. */
export function ok(cmd: string, args: string[], options: Parameters<typeof sh>[2] = {}): string {
  const ran = sh(cmd, args, options);
  if (ran.status !== 0) throw new Error(`${cmd} ${args.join(' ')} → ${ran.status}\n${ran.stdout}${ran.stderr}`);
  return ran.stdout;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sparkngin-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

const tempDirs: string[] = [];

/** gpg homes under `dir` (a few levels down: dnf keeps its own under its cache): where an agent may run. */
function gpgHomes(dir: string, depth = 3): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const own = entries.some((name) => name === 'pubring.kbx' || name.startsWith('S.gpg-agent')) ? [dir] : [];
  if (depth === 0) return own;
  return own.concat(entries.flatMap((name) => gpgHomes(join(dir, name), depth - 1)));
}

// Nothing a test made outlives the test process: gpg-agents started for its key rings are stopped
// and its temp dirs removed.
// (Registered at module level, so it runs after the whole file that imported this helper.)
afterAll(() => {
  for (const dir of tempDirs.splice(0)) {
    for (const home of gpgHomes(dir)) spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * An environment in which rpm and dnf keep their database where Enterprise Linux does
 * (/var/lib/rpm under the root): Debian's rpm defaults to ~/.rpmdb, so HOME points at a dir whose
 * .rpmmacros says otherwise.
 */
export function elRpmEnv(): NodeJS.ProcessEnv {
  const home = tempDir('rpmhome');
  writeFileSync(join(home, '.rpmmacros'), '%_dbpath /var/lib/rpm\n');
  return { ...process.env, HOME: home };
}

/** Every setting key, as `sparkngin config keys` prints them (first column). */
export function configKeys(executable: string): string[] {
  return ok(executable, ['config', 'keys'])
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/)[0]!);
}
