// What every scenario shares: where results go, the machine's load during each run, alternating
// runs with medians, and process helpers. A scenario is a file in bench/scenarios/ that exports
// nothing and writes one JSON file (bench/results/<mode>/<scenario>.json) through `writeResult`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const benchDir = join(repoRoot, 'bench');
/**
 * The bench runs on the repository's Node (the pinned `node` devDependency, 22.23.2, like the daemon
 * and the executables: bench/run.sh puts it first on PATH). The machine's own Node 20 still runs
 * the bake-off rows measured on it (kafkajs@node20, and the confluent client, built for it).
 */
export const NODE20 = process.env.BENCH_NODE20 ?? '/usr/bin/node';

/** `smoke` (short runs to validate the harness, numbers not to be quoted) or `full`. */
export const mode: 'smoke' | 'full' = process.env.BENCH_MODE === 'full' ? 'full' : 'smoke';
export const resultsDir = join(benchDir, 'results', mode);

/** A number from the environment, else the default of the mode. */
export function setting(name: string, smoke: number, full: number): number {
  const value = process.env[name];
  return value !== undefined && value !== '' ? Number(value) : mode === 'full' ? full : smoke;
}

/** How many runs of each variant (alternating A B A B ...). */
export const runs = setting('BENCH_RUNS', 1, 3);

export function writeResult(scenario: string, data: object): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${scenario}.json`);
  writeFileSync(file, `${JSON.stringify({ scenario, mode, finishedAt: new Date().toISOString(), ...data }, null, 1)}\n`);
  console.log(`bench: wrote ${file}`);
  return file;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---- load: what else the machine did during a run -------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ on Linux

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU seconds the whole machine has spent busy since boot (everything but idle and I/O wait). */
export const machineBusySeconds = (): number => machineTicks().busy / CLOCK_TICKS;

/** CPU seconds (user + system, children already waited for included) of a process and its threads; 0 once gone. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // after "pid (comm) ": state is field 0; utime 11, stime 12, cutime 13, cstime 14
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Per thread of `pid`: nanoseconds on a CPU and waiting for one (/proc/PID/task/TID/schedstat). */
export function threadTimes(pid: number | undefined): Map<string, { runNs: number; queuedNs: number }> {
  const times = new Map<string, { runNs: number; queuedNs: number }>();
  if (pid === undefined) return times;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [run, queued] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(tid, { runNs: run ?? 0, queuedNs: queued ?? 0 });
    }
  } catch {
    // the process ended
  }
  return times;
}

/**
 * How the busiest thread of a process spent `wallSeconds` between two `threadTimes` samples: on a
 * CPU, runnable but waiting for one (the machine's load), and asleep (waiting for I/O: a broker's
 * answer, the disk). Sleep is what overlapping requests can take away; it is not inflated by load.
 */
export function busiestThread(before: ReturnType<typeof threadTimes>, after: ReturnType<typeof threadTimes>, wallSeconds: number): { cpuSeconds: number; queuedSeconds: number; sleptSeconds: number } {
  let best = { cpuSeconds: 0, queuedSeconds: 0, sleptSeconds: 0 };
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { runNs: 0, queuedNs: 0 };
    const cpuSeconds = (end.runNs - start.runNs) / 1e9;
    const queuedSeconds = (end.queuedNs - start.queuedNs) / 1e9;
    if (cpuSeconds > best.cpuSeconds) best = { cpuSeconds, queuedSeconds, sleptSeconds: Math.max(0, wallSeconds - cpuSeconds - queuedSeconds) };
  }
  return best;
}

/** A group of processes' CPU over a run, in % of one core: on a CPU, and runnable but waiting for one. */
export interface GroupCpu {
  cpuSeconds: number;
  cpuPct: number;
  queuedPct: number;
  /** The group's busiest thread (a server's event loop): where one core's limit shows. */
  busiestThread: { cpuPct: number; queuedPct: number };
}

/**
 * Watches the threads of named groups of processes (a server, the broker, the load generator)
 * through a run: each thread's schedstat every 250 ms, its last sample kept, so a process that ends
 * before `stop()` (wrk) still counts, and one that starts late counts from zero. Run queue wait is
 * what says whether a server was short of CPU or of work: on two cores shared with wrk and the
 * broker, a thread can wait for a core while the machine's average looks half idle.
 */
export function watchCpu(groups: () => Record<string, Array<number | undefined>>): { stop(): Record<string, GroupCpu> } {
  const first = new Map<string, Map<string, { runNs: number; queuedNs: number }>>();
  const last = new Map<string, Map<string, { runNs: number; queuedNs: number }>>();
  const sample = (into: Map<string, Map<string, { runNs: number; queuedNs: number }>>) => {
    for (const [name, pids] of Object.entries(groups())) {
      const threads = into.get(name) ?? new Map<string, { runNs: number; queuedNs: number }>();
      for (const pid of pids) for (const [tid, times] of threadTimes(pid)) threads.set(`${pid}/${tid}`, times);
      into.set(name, threads);
    }
  };
  sample(first);
  const startedAt = performance.now();
  const timer = setInterval(() => sample(last), 250);
  return {
    stop() {
      clearInterval(timer);
      sample(last);
      const wallSeconds = (performance.now() - startedAt) / 1000;
      const pct = (ns: number) => Math.round(ns / 1e6 / wallSeconds) / 10;
      return Object.fromEntries(
        [...last].map(([name, threads]) => {
          let cpuNs = 0;
          let queuedNs = 0;
          let busiest = { cpuNs: 0, queuedNs: 0 };
          for (const [tid, end] of threads) {
            const start = first.get(name)?.get(tid) ?? { runNs: 0, queuedNs: 0 };
            const thread = { cpuNs: end.runNs - start.runNs, queuedNs: end.queuedNs - start.queuedNs };
            cpuNs += thread.cpuNs;
            queuedNs += thread.queuedNs;
            if (thread.cpuNs > busiest.cpuNs) busiest = thread;
          }
          return [name, { cpuSeconds: cpuNs / 1e9, cpuPct: pct(cpuNs), queuedPct: pct(queuedNs), busiestThread: { cpuPct: pct(busiest.cpuNs), queuedPct: pct(busiest.queuedNs) } }];
        }),
      );
    },
  };
}

export interface Load {
  loadavgBefore: number;
  loadavgAfter: number;
  seconds: number;
  /** Share of the machine's CPU (all cores = 100 %) busy during the run. */
  machineBusyPct: number;
  /** Share taken by the processes of this run (servers, load generator, broker). */
  oursPct: number;
  /** The rest: other work on the machine; high values make the run's numbers unreliable. */
  foreignPct: number;
}

/** Starts watching the machine; `stop()` gives the load during the run. `pids()` names this run's
 *  processes, their threads watched as `watchCpu` does: one that ends before `stop()` (wrk) still
 *  counts, one that starts during the run (a restarted broker) counts from zero. */
export function watchLoad(pids: () => Array<number | undefined>): { stop(): Load } {
  const loadavg = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const before = { ticks: machineTicks(), loadavg: loadavg(), at: Date.now() };
  const processes = watchCpu(() => ({ ours: pids() }));
  const selfBefore = process.cpuUsage();
  return {
    stop() {
      const ours = processes.stop().ours!;
      const ticks = machineTicks();
      const self = process.cpuUsage(selfBefore);
      const seconds = (Date.now() - before.at) / 1000;
      const cores = (ticks.total - before.ticks.total) / CLOCK_TICKS / seconds;
      const capacity = seconds * cores;
      const busy = (ticks.busy - before.ticks.busy) / CLOCK_TICKS;
      const oursSeconds = (self.user + self.system) / 1e6 + ours.cpuSeconds;
      const pct = (v: number) => Math.round((1000 * v) / capacity) / 10;
      return {
        loadavgBefore: before.loadavg,
        loadavgAfter: loadavg(),
        seconds: Math.round(seconds * 10) / 10,
        machineBusyPct: pct(busy),
        oursPct: pct(oursSeconds),
        foreignPct: pct(Math.max(0, busy - oursSeconds)),
      };
    },
  };
}

// ---- alternating runs -------------------------------------------------------------------------------

/** Runs each variant `runs` times, alternating (A B A B ...), so slow drifts of the machine hit
 *  every variant alike. Returns every run's result, in order. */
export async function alternate<V extends string, R>(variants: V[], count: number, run: (variant: V, index: number) => Promise<R>): Promise<Array<{ variant: V; index: number; result: R }>> {
  const out: Array<{ variant: V; index: number; result: R }> = [];
  for (let index = 0; index < count; index++) {
    for (const variant of variants) {
      console.log(`bench: ${variant} run ${index + 1}/${count}`);
      out.push({ variant, index, result: await run(variant, index) });
    }
  }
  return out;
}

/** Median of a numeric field per variant. */
export function medians<R>(all: Array<{ variant: string; result: R }>, pick: (r: R) => number): Record<string, number> {
  const byVariant: Record<string, number[]> = {};
  for (const { variant, result } of all) (byVariant[variant] ??= []).push(pick(result));
  return Object.fromEntries(Object.entries(byVariant).map(([k, v]) => [k, median(v)]));
}

// ---- processes -----------------------------------------------------------------------------------

/** A child that is killed when this process exits, however it exits. */
export function spawnOwned(command: string, args: string[], options: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore', ...options });
  owned.add(child);
  child.once('exit', () => owned.delete(child));
  return child;
}
const owned = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of owned) child.kill('SIGKILL');
});
// Ctrl-C or a kill of the bench: exit through the 'exit' hooks, so nothing it started outlives it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(128 + 2));

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
}

/** Resolves once `url` answers (any status), throws after `ms`. */
export async function waitForHttp(url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

export function rssMb(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

export function commandOutput(command: string, args: string[]): string {
  try {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.error) throw result.error;
    return `${result.stdout}${result.stderr}`.trim();
  } catch {
    return 'not found';
  }
}
