// Running the outside tools a packaging step needs (rpmbuild, gpg, tar, ...): arguments as an array,
// never through a shell, and a failure that names the command and carries its stderr.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${status ?? 'signal'}):\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
  }
}

export interface RunOptions extends Pick<SpawnSyncOptions, 'cwd' | 'env' | 'input'> {
  /** Let the command's output through to ours instead of capturing it. */
  inherit?: boolean;
}

/** Runs `cmd args…` to completion; returns stdout; throws CommandError on a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): string {
  const result = spawnSync(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'],
  });
  if (result.error) throw new CommandError(cmd, null, result.error.message);
  if (result.status !== 0) throw new CommandError(`${cmd} ${args.join(' ')}`, result.status, `${result.stderr ?? ''}${result.stdout ?? ''}`);
  return result.stdout ?? '';
}

/** Whether a program is on PATH (for tools a step needs, so it can say which package brings them). */
export function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1" >/dev/null`, 'sh', program]).status === 0;
}

export function requireTools(step: string, tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([program]) => !have(program));
  if (missing.length > 0) {
    throw new Error(
      `${step}: missing ${missing.map(([p, pkg]) => `${p} (Debian package ${pkg})`).join(', ')}; ` + 'scripts/install-deps.sh installs them from scripts/deps/apt-dist.txt',
    );
  }
}

/** run(), without blocking: for independent heavy commands (gzip, rpmbuild) side by side on two cores. */
export function runAsync(cmd: string, args: readonly string[], options: Pick<RunOptions, 'cwd' | 'env'> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new CommandError(cmd, null, error.message)));
    child.once('close', (status) => (status === 0 ? resolve(stdout) : reject(new CommandError(`${cmd} ${args.join(' ')}`, status, stderr + stdout))));
  });
}

/** Runs `jobs` with at most `limit` at a time (the machine has two cores). */
export async function inParallel<T>(limit: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
