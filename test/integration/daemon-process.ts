// Runs the real daemon as a child process (the bundle `build/sparkngin.cjs`, or a built executable),
// so that tests see what users see: a process that can be signalled, killed -9 and restarted.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { wholeLines } from '../lines';
import { freePort } from '../peers/ports';

export const BUNDLE = fileURLToPath(new URL('../../build/sparkngin.cjs', import.meta.url));

export interface DaemonOptions {
  /** Settings merged over the test defaults (YAML shape of src/config/defaults.ts). */
  config?: Record<string, unknown>;
  /** Reuse a data dir (to test restarts); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Run this executable instead of `node build/sparkngin.cjs`. */
  executable?: string;
  /** A command the daemon's command line is appended to, e.g. `['prlimit', '--nofile=128', '--']`. */
  launcher?: string[];
  /** Extra environment variables of the daemon process. */
  env?: Record<string, string>;
  /** The daemon speaks HTTPS (tls.cert is set): the CA to trust, and a client certificate if it asks for one. PEM text. */
  https?: { ca: string; cert?: string; key?: string };
}

export interface DaemonProcess {
  url: string;
  port: number;
  dataDir: string;
  /** Process id of the running daemon (undefined while stopped). */
  pid(): number | undefined;
  /** Everything the process wrote to stderr (JSON log lines) so far, across restarts. */
  logs(): string;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to sync or save anything. */
  kill(): Promise<void>;
  /** Sends a signal (SIGHUP: reload) to the running process. */
  signal(signal: NodeJS.Signals): void;
  /** Starts the process again on the same port and data dir. */
  restart(): Promise<void>;
  /** Stops it if running and removes its temp data dir (unless the dir was given). */
  close(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions = {}): Promise<DaemonProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sparkngin-it-')));
  const port = await freePort();
  // Beside the data dir, not in it: a test may fill the data dir's filesystem up.
  const configFile = join(tmpdir(), `sparkngin-it-config-${port}.yaml`);
  const config = deepMerge({ listen: { host: '127.0.0.1', port }, dataDir, log: { level: 'info' }, shutdownTimeoutMs: 5000 }, options.config ?? {});
  await writeFile(configFile, stringify(config));
  let child: ChildProcess | undefined;
  let output = '';
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;

  const launch = async () => {
    const daemonLine = options.executable ? [options.executable, 'start', '--config', configFile] : [process.execPath, BUNDLE, 'start', '--config', configFile];
    const [command, ...args] = [...(options.launcher ?? []), ...daemonLine] as [string, ...string[]];
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPARKNGIN_LOG_LEVEL: undefined, ...options.env } });
    child = proc;
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForHealth(url, proc, () => output, options.https);
  };

  const exited = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve(proc.exitCode) : new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));

  await launch();
  const daemon: DaemonProcess = {
    url,
    port,
    dataDir,
    pid: () => child?.pid,
    logs: () => output,
    async stop() {
      if (!child) return null;
      const proc = child;
      child = undefined;
      proc.kill('SIGTERM');
      return exited(proc);
    },
    async kill() {
      if (!child) return;
      const proc = child;
      child = undefined;
      proc.kill('SIGKILL');
      await exited(proc);
    },
    signal(signal) {
      child?.kill(signal);
    },
    restart: launch,
    async close() {
      await daemon.stop();
      await rm(configFile, { force: true });
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return daemon;
}

/** GET /health over HTTPS with the given CA (and client certificate): true on a 200. */
function httpsHealthy(url: string, tls: NonNullable<DaemonOptions['https']>): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(`${url}/health`, { ...tls, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
  });
}

async function waitForHealth(url: string, proc: ChildProcess, output: () => string, tls?: DaemonOptions['https']): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}:\n${output()}`);
    try {
      if (tls ? await httpsHealthy(url, tls) : (await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`daemon did not answer /health within 20 s:\n${output()}`);
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object' && current !== null && !Array.isArray(current)
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** `sparkngin ARGS…` run from the bundle to its end: exit code and output. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUNDLE, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * The file sink's lines in `path`, parsed (none while there is no file). The sink may be in the
 * middle of a write when a test looks: a last line without its newline is left for the next look.
 */
export async function fileSinkLines(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return wholeLines(text).map((line) => JSON.parse(line));
}

/** POSTs NDJSON events to a topic; returns the HTTP status and parsed JSON body. */
export async function postEvents(url: string, topic: string, events: unknown[], query = ''): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${url}/v1/topics/${topic}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: `${events.map((event) => JSON.stringify(event)).join('\n')}\n`,
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}
