// The real daemon (build/sparkngin.cjs) on a host of a test LAN (netns.ts), listening on the host's
// LAN address. The test process cannot reach into the namespace, so readiness is read from the
// daemon's own log: the `daemon.started` line, and `discovery.advertised` once it is on the LAN.
// A port is free by construction in a namespace made for the test (nothing else runs there).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BUNDLE } from '../integration/daemon-process';
import { until } from '../wait';
import type { NetnsHost } from './netns';

export interface NetnsDaemonOptions {
  /** Port inside the namespace (default 7080). */
  port?: number;
  /** Listen address (default 0.0.0.0). */
  listenHost?: string;
  /** Whole config sections laid over the test defaults (`{ discovery: { name: 'x' } }`). */
  config?: Record<string, unknown>;
  /** Reuse a data dir (restarts keep the instance id). */
  dataDir?: string;
}

export interface NetnsDaemon {
  host: NetnsHost;
  port: number;
  dataDir: string;
  /** The JSON log lines so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Waits for the first log line with this event (and matching `where`); returns it. */
  logged(event: string, where?: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (a graceful stop: goodbye packets) and the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no goodbye. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export async function startDaemonOn(host: NetnsHost, options: NetnsDaemonOptions = {}): Promise<NetnsDaemon> {
  const port = options.port ?? 7080;
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sparkngin-netns-')));
  const configFile = join(dataDir, `..`, `${host.ns}-${port}.yaml`);
  const config = { listen: { host: options.listenHost ?? '0.0.0.0', port }, dataDir, log: { level: 'debug' }, shutdownTimeoutMs: 5000, ...options.config };
  await writeFile(configFile, stringify(config));
  const child: ChildProcess = host.spawn(process.execPath, [BUNDLE, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SPARKNGIN_LOG_LEVEL: undefined },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs = () =>
    output.split('\n').flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const logged: NetnsDaemon['logged'] = async (event, where = () => true, timeoutMs = 30_000) => {
    let found: Record<string, unknown> | undefined;
    await until(() => {
      if (child.exitCode !== null && found === undefined) throw new Error(`daemon on ${host.hostname} exited with ${child.exitCode} before logging ${event}:\n${output}`);
      found = logs().find((line) => line.event === event && where(line));
      return found !== undefined;
    }, `${event} logged by the daemon on ${host.hostname}:${port}\n${output}`, timeoutMs);
    return found!;
  };
  const daemon: NetnsDaemon = {
    host,
    port,
    dataDir,
    logs,
    logged,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async close() {
      await daemon.kill();
      await rm(configFile, { force: true });
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await logged('daemon.started');
  } catch (error) {
    await daemon.close();
    throw error;
  }
  return daemon;
}
