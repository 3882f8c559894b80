// The servers the benchmarks compare, each started on a free loopback port in a temp dir:
// Sparkngin (the bundle the executables embed), nginx `return 204`, nginx + lua-resty-kafka, and a
// bare Node http server. Each gives its URL, its pids (for CPU accounting) and a way to stop or kill it.
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/peers/ports';
import { benchDir, exited, repoRoot, sleep, spawnOwned, stopChild, waitForHttp } from './run';

export interface Server {
  name: string;
  url: string;
  /** Every process of the server (nginx: master and workers). */
  pids(): number[];
  /** The process whose RSS is reported (Sparkngin's daemon). */
  mainPid: number | undefined;
  stop(): Promise<void>;
  /** kill -9 of every process of the server, at once. */
  kill9(): Promise<void>;
  dir: string;
}

export interface SparknginOptions {
  /** `host:port` of a broker to turn the Kafka sink on. */
  kafka?: string;
  /** Kafka topics are `<prefix><topic>` (a fresh prefix per run keeps runs apart). */
  topicPrefix?: string;
  /** An existing data dir (a filled spool) instead of a fresh one. */
  dataDir?: string;
  /** More keys of the Kafka sink, in YAML flow style (`retry: {maxMs: 2000}`). */
  kafkaYaml?: string;
  /** The Node binary to run the bundle with (default: the one running the bench). */
  node?: string;
  /** Another build of the daemon to run (an A/B against a baseline: BENCH_BASE_BUNDLE). */
  bundle?: string;
  /** More sinks, YAML lines under `sinks:` (`  zeromq: {endpoint: 'tcp://127.0.0.1:5555'}`). */
  sinksYaml?: string;
  /** http.threads (default 1). */
  threads?: number;
  /** Pin the daemon to these CPUs (`taskset -c`), e.g. `0,1`. */
  cores?: string;
}

/** The daemon the scenarios run: this checkout's build, or another (BENCH_SPARKNGIN_BUNDLE, for an A/B of any scenario). */
export const SPARKNGIN_BUNDLE = process.env.BENCH_SPARKNGIN_BUNDLE ?? join(repoRoot, 'build', 'sparkngin.cjs');

export async function startSparkngin(options: SparknginOptions = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-bench-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const port = await freePort();
  const kafka = options.kafka
    ? `  kafka: {enabled: true, brokers: ['${options.kafka}'], topicPrefix: '${options.topicPrefix ?? ''}'${options.kafkaYaml ? `, ${options.kafkaYaml}` : ''}}\n`
    : '  kafka: {enabled: false}\n';
  const http = options.threads === undefined ? '' : `http: {threads: ${options.threads}}\n`;
  writeFileSync(join(dir, 'sparkngin.yaml'), `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${dataDir}\n${http}sinks:\n  file: {enabled: false}\n${kafka}${options.sinksYaml ?? ''}`);
  const daemon = [options.node ?? process.execPath, options.bundle ?? SPARKNGIN_BUNDLE, 'start', '--config', join(dir, 'sparkngin.yaml')];
  const [command, ...args] = options.cores === undefined ? daemon : ['taskset', '-c', options.cores, ...daemon];
  const child = spawnOwned(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttp(`${url}/stats`), exited(child).then(() => Promise.reject(new Error(`sparkngin exited: ${stderr}`)))]);
  return {
    name: options.bundle === undefined ? 'sparkngin' : 'sparkngin@base',
    url,
    dir,
    mainPid: child.pid,
    pids: () => (child.pid === undefined ? [] : [child.pid]),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

/** `/stats` of a Sparkngin daemon. */
export async function sparknginStats(server: Server): Promise<{ spool: { bytes: number; nextSeq: number }; sinks: Array<{ sink: string; deliveredRecords: number; lagRecords: number }> }> {
  return (await (await fetch(`${server.url}/stats`)).json()) as never;
}

export type NginxFlavour = 'return-204' | 'lua-kafka';

/** nginx with one of bench/nginx/*.conf (`@WORKERS@` = $BENCH_NGINX_WORKERS, default 1). */
export async function startNginx(flavour: NginxFlavour, brokerPort?: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `sparkngin-nginx-${flavour}-`));
  mkdirSync(join(dir, 'body'));
  const port = await freePort();
  const conf = readFileSync(join(benchDir, 'nginx', `${flavour}.conf`), 'utf8')
    .replaceAll('@WORKERS@', process.env.BENCH_NGINX_WORKERS ?? '1')
    .replaceAll('@WORK@', dir)
    .replaceAll('@PORT@', String(port))
    .replaceAll('@BROKER_PORT@', String(brokerPort ?? 0));
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const master = spawnOwned('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  master.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitForHttp(url), exited(master).then(() => Promise.reject(new Error(`nginx exited: ${stderr} ${safeRead(join(dir, 'error.log'))}`)))]);
  const pids = () => [master.pid!, ...childrenOf(master.pid!)];
  // nginx's workers outlive a master killed with SIGKILL: if this process ends before stop(), they
  // go too, found before spawnOwned's own exit hook kills the master.
  const killWorkers = () => childrenOf(master.pid!).forEach((pid) => process.kill(pid, 'SIGKILL'));
  process.prependListener('exit', killWorkers);
  master.once('exit', () => process.off('exit', killWorkers));
  return {
    name: flavour === 'lua-kafka' ? 'nginx-lua-kafka' : 'nginx-204',
    url,
    dir,
    mainPid: master.pid,
    pids,
    stop: async () => {
      await stopChild(master, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
    kill9: async () => {
      for (const pid of pids()) process.kill(pid, 'SIGKILL');
      await exited(master);
      while (childrenOf(master.pid!).length > 0) await sleep(50);
    },
  };
}

export function nginxErrors(server: Server): string {
  return safeRead(join(server.dir, 'error.log'));
}

/** A bare Node http server: reads the body, answers 202 with a small JSON (bench/bare-server.mjs). */
export async function startBareNode(): Promise<Server> {
  const port = await freePort();
  const child: ChildProcess = spawnOwned(process.execPath, [join(benchDir, 'bare-server.mjs'), String(port)]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url);
  return {
    name: 'bare-node',
    url,
    dir: '',
    mainPid: child.pid,
    pids: () => (child.pid === undefined ? [] : [child.pid]),
    stop: () => stopChild(child),
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}
