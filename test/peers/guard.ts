// Nothing a test starts may outlive the test process: each guarded peer process is killed (and its
// temp dir removed) by an exit handler, and by a small detached shell watchdog if the test process
// dies without running the handler (SIGKILL, a crashed worker).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { until } from '../wait';

const guarded = new Map<number, string>();
let hooked = false;

/** Kills `child` and removes `dir` once this process is gone; `release` it when it ended normally. */
export function guardProcess(child: ChildProcess, dir: string): { release(): void } {
  const pid = child.pid!;
  guarded.set(pid, dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const [running, path] of guarded) {
        try {
          process.kill(running, 'SIGKILL');
        } catch {
          // already gone
        }
        rmSync(path, { recursive: true, force: true });
      }
    });
  }
  const script =
    'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'if ! kill -0 "$0" 2>/dev/null; then kill -9 "$1" 2>/dev/null; sleep 1; rm -rf "$2"; fi';
  spawn('sh', ['-c', script, String(process.pid), String(pid), dir], { detached: true, stdio: 'ignore' }).unref();
  return { release: () => guarded.delete(pid) };
}

/** A guarded peer process a test can stop (SIGTERM, awaited) and start again, as for an outage. */
export interface RestartablePeer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `launch` spawns the peer with stdout and stderr piped; `start` resolves once `ready` says so and
 * fails with the peer's output if it exits first.
 */
export function restartablePeer(name: string, dir: string, launch: () => ChildProcess, ready: () => Promise<boolean>, timeoutMs: number): RestartablePeer {
  let child: ChildProcess | undefined;
  let output = '';
  return {
    async start() {
      const proc = launch();
      child = proc;
      proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const guard = guardProcess(proc, dir);
      proc.once('exit', () => guard.release());
      await until(async () => {
        if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${output}`);
        return ready();
      }, `${name} is ready`, timeoutMs);
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (proc === undefined || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
