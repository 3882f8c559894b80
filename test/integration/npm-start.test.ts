// `npm start` as a developer runs it: a signal to npm (a supervisor's SIGTERM, a terminal's Ctrl-C)
// stops the daemon gracefully, and once npm has exited no daemon is left holding the port or the
// data dir. npm forwards SIGINT and SIGTERM to its child; the start script `exec`s node so that the
// child is the daemon itself, not a shell that would die and leave the daemon behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { startDaemon } from './daemon-process';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface NpmStart {
  npm: ChildProcess;
  port: number;
  dataDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: NpmStart[] = [];
afterEach(async () => {
  for (const run of started.splice(0)) {
    // Whatever a failed test left behind: the whole group (npm and the daemon), then the data dir.
    if (run.npm.exitCode === null && run.npm.signalCode === null) process.kill(-run.npm.pid!, 'SIGKILL');
    for (const pid of await processesUsing(run.dataDir)) process.kill(pid, 'SIGKILL');
    await rm(run.dataDir, { recursive: true, force: true });
  }
});

/** `npm start -- --port P --data-dir D` in its own process group, as a terminal would run it. */
async function npmStart(): Promise<NpmStart> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-npm-start-'));
  const port = await freePort();
  // --ignore-scripts skips prestart (the build, done before the suite): other test files may be
  // running the bundle it would rewrite. The start script itself still runs.
  const npm = spawn('npm', ['start', '--ignore-scripts', '--', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SPARKNGIN_LOG_LEVEL: undefined },
  });
  let output = '';
  npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  const run = { npm, port, dataDir, output: () => output, exited };
  started.push(run);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}:\n${output}`);
    if (output.includes('"event":"daemon.started"')) return run;
    if (Date.now() > deadline) throw new Error(`the daemon did not start under npm start within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Pids of the processes whose command line names `dir` (the daemon started for it). */
async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(dir)) pids.push(Number(entry));
  }
  return pids;
}

const portAnswers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** After npm exited: the daemon stopped gracefully, nothing holds the port or the data dir. */
async function expectCleanStop(run: NpmStart): Promise<void> {
  const logs = run.output();
  expect(logs).toContain('"event":"daemon.stopped"');
  expect(logs).not.toContain('daemon.forced_exit');
  expect(await processesUsing(run.dataDir)).toEqual([]);
  expect(await portAnswers(run.port)).toBe(false);
  // The data dir lock is free: a new daemon takes the same dir at once.
  const next = await startDaemon({ dataDir: run.dataDir });
  await next.close();
}

describe('npm start', () => {
  it('runs the daemon as npm\'s own child (no shell in between)', async () => {
    const run = await npmStart();
    const children = (await readFile(`/proc/${run.npm.pid}/task/${run.npm.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    expect(await processesUsing(run.dataDir)).toEqual(children);
    run.npm.kill('SIGTERM');
    await run.exited;
  });

  it('SIGTERM to npm stops the daemon gracefully; the port and the data dir are free once npm has exited', async () => {
    const run = await npmStart();
    run.npm.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await expectCleanStop(run);
  });

  it("a terminal's Ctrl-C (SIGINT to the whole group; npm forwards it, so the daemon may get it twice) is one graceful stop, not a forced exit", async () => {
    const run = await npmStart();
    process.kill(-run.npm.pid!, 'SIGINT');
    await run.exited;
    await expectCleanStop(run);
    expect(run.output().match(/"event":"daemon\.signal"/g)).toHaveLength(1);
  });
});
