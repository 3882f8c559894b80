// The delivery thread's CPU per record while a spooled backlog drains into Kafka, for two builds of
// the daemon side by side (an A/B that a busy machine does not decide: CPU time per record moves far
// less with the load than records per second do). The spool is the `drain` scenario's (its records,
// keys and headers); each round copies it once per build and lets that build drain it into a fresh
// pre-created topic, builds alternating. Per run: the busiest thread's CPU (the delivery thread, from
// /proc/PID/task/TID/schedstat) and the whole daemon's, per million records, and the rate.
//   BENCH_DRAIN_AB=A.cjs,B.cjs bash bench/run.sh drain-ab     (default: build/sparkngin.cjs alone)
//   BENCH_DRAIN_EVENTS (200 000 smoke), BENCH_RUNS (rounds: 1 smoke, 3 full; take 5 or more for an A/B), BENCH_DRAIN_PROF=DIR: a V8 CPU profile
//   of every thread of each run's daemon into DIR (--cpu-prof; profiling slows the runs).
//   BENCH_DRAIN_AB_KAFKA='maxInFlight: 5': more Kafka sink keys for every build (YAML flow entries).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type Broker, traceDelivery } from '../lib/kafka';
import { alternate, busiestThread, cpuSecondsOf, median, runs, threadTimes, watchLoad, writeResult } from '../lib/run';
import { SPARKNGIN_BUNDLE, startSparkngin } from '../lib/servers';
import { events, fillSpool } from './drain';

const bundles = (process.env.BENCH_DRAIN_AB ?? SPARKNGIN_BUNDLE).split(',');
const profileDir = process.env.BENCH_DRAIN_PROF;
const kafkaYaml = process.env.BENCH_DRAIN_AB_KAFKA || undefined;

export async function drainAb(broker: Broker): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-drain-ab-'));
  try {
    console.log(`bench: filling a spool with ${events} events`);
    const spool = await fillSpool(dir);
    let serial = 0;
    // Variants are named by their bundles' directories (build, build-a, …), so that runs print which.
    const names = bundles.map((bundle, i) => `${i}:${basename(dirname(bundle))}`);
    const all = await alternate(names, runs, async (name) => {
      const bundle = bundles[names.indexOf(name)]!;
      const run = ++serial;
      const topic = `ab${run}-kbench`;
      await broker.createTopic(topic);
      const copy = join(dir, `spool-${run}`);
      execFileSync('cp', ['-a', spool, copy]);
      if (profileDir) {
        mkdirSync(join(profileDir, `run${run}`), { recursive: true });
        process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${join(profileDir, `run${run}`)}`;
      }
      const since = Date.now();
      const server = await startSparkngin({ kafka: broker.peer.brokers, topicPrefix: `ab${run}-`, dataDir: copy, bundle, kafkaYaml });
      delete process.env.NODE_OPTIONS;
      try {
        const load = watchLoad(() => [...server.pids(), broker.peer.pid]);
        const cpuBefore = cpuSecondsOf(server.mainPid);
        const [threadsBefore, sampledAt] = [threadTimes(server.mainPid), performance.now()];
        const trace = await traceDelivery(broker, topic, { since, expected: events, everyMs: 100, quietMs: 30_000 });
        const thread = busiestThread(threadsBefore, threadTimes(server.mainPid), (performance.now() - sampledAt) / 1000);
        const daemonCpu = cpuSecondsOf(server.mainPid) - cpuBefore;
        const result = {
          delivered: trace.delivered,
          perSecond: trace.delivered / (((trace.lastMs ?? 0) - (trace.firstMs ?? 0)) / 1000 || Number.NaN),
          threadCpuSecondsPerMillion: (thread.cpuSeconds * 1e6) / trace.delivered,
          threadSleptUsPerRecord: (thread.sleptSeconds * 1e6) / trace.delivered,
          daemonCpuSecondsPerMillion: (daemonCpu * 1e6) / trace.delivered,
          load: load.stop(),
        };
        console.log(`bench: ${name} delivery thread ${result.threadCpuSecondsPerMillion.toFixed(2)} CPU-s/M, daemon ${result.daemonCpuSecondsPerMillion.toFixed(2)}, ${Math.round(result.perSecond)} records/s, load ${result.load.loadavgBefore}`);
        return result;
      } finally {
        await server.stop();
        rmSync(copy, { recursive: true, force: true });
      }
    });
    for (const { variant, result } of all) if (result.delivered < events) throw new Error(`drain-ab: ${variant} delivered ${result.delivered} of ${events} records`);
    const pick = (name: string, f: (r: (typeof all)[number]['result']) => number) => median(all.filter((r) => r.variant === name).map((r) => f(r.result)));
    const summary = Object.fromEntries(names.map((name, i) => [name, { bundle: bundles[i], threadCpuSecondsPerMillion: pick(name, (r) => r.threadCpuSecondsPerMillion), daemonCpuSecondsPerMillion: pick(name, (r) => r.daemonCpuSecondsPerMillion), perSecond: pick(name, (r) => r.perSecond) }]));
    // Paired: each round's B against its A (run next to each other), the median difference.
    const pairs = names.length === 2 ? all.filter((r) => r.variant === names[1]).map((b, i) => b.result.threadCpuSecondsPerMillion - all.filter((r) => r.variant === names[0])[i]!.result.threadCpuSecondsPerMillion) : [];
    console.log(JSON.stringify(summary, null, 1));
    if (pairs.length > 0) console.log(`bench: B - A delivery thread CPU-s per million, paired by round: median ${median(pairs).toFixed(2)} (${pairs.map((d) => d.toFixed(2)).join(' ')})`);
    writeResult('drain-ab', { events, kafka: broker.peer.version, runs: all, summary, pairedThreadDifference: pairs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
