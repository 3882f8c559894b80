// Ingest across cores (issue 8), the daemon itself: http.threads 1 pinned to one core (taskset -c 0)
// against http.threads 2 pinned to two (-c 0,1), wrk -t2 -c64 unpinned, single ~100-byte events and
// NDJSON ×100 into the spool (no sink), runs alternating, each daemon fresh. Per run: events/s,
// events/s per core given, and CPU seconds per million events of the whole daemon and of its main
// thread (the spool writer, plus its own share of the connections), from /proc, which load moves
// less than wall-clock rates. The serial cost of the writer alone is bench/micro/ingest-workers.ts's.
import { setTimeout as sleep } from 'node:timers/promises';
import { alternate, cpuSecondsOf, medians, runs, setting, threadTimes, watchLoad, writeResult } from '../lib/run';
import { type Server, startSparkngin } from '../lib/servers';
import { EVENTS_PER_REQUEST, wrk, type WrkScenario } from '../lib/wrk';

const seconds = setting('BENCH_SECONDS', 5, 15);
const warmup = setting('BENCH_WARMUP', 2, 5);
const VARIANTS = { '1 thread, 1 core': { threads: 1, cores: '0' }, '2 threads, 2 cores': { threads: 2, cores: '0,1' } } as const;
type Variant = keyof typeof VARIANTS;

async function acceptedEvents(server: Server): Promise<{ events: number; threads: number }> {
  const stats = (await (await fetch(`${server.url}/stats`)).json()) as { ingest: { accepted: { events: number }; threads?: unknown[] } };
  return { events: stats.ingest.accepted.events, threads: stats.ingest.threads?.length ?? 1 };
}

export async function scaling(): Promise<void> {
  const scenarios: Record<string, unknown> = {};
  for (const scenario of ['single', 'ndjson100'] as WrkScenario[]) {
    const all = await alternate(Object.keys(VARIANTS) as Variant[], runs, async (variant) => {
      const { threads, cores } = VARIANTS[variant];
      const server = await startSparkngin({ threads, cores });
      try {
        // The main thread listens first; the other threads a moment later.
        while ((await acceptedEvents(server)).threads < threads) await sleep(50);
        const url = `${server.url}/v1/topics/bench`;
        await wrk(scenario, url, warmup);
        await sleep(500);
        const pid = server.mainPid!;
        const before = { events: (await acceptedEvents(server)).events, cpu: cpuSecondsOf(pid), main: threadTimes(pid).get(String(pid))?.runNs ?? 0 };
        let wrkPid: number | undefined;
        const load = watchLoad(() => [pid, wrkPid]);
        const result = await wrk(scenario, url, seconds, (started) => (wrkPid = started));
        const events = (await acceptedEvents(server)).events - before.events;
        const mainSeconds = ((threadTimes(pid).get(String(pid))?.runNs ?? 0) - before.main) / 1e9;
        const eventsPerSecond = result.okPerSecond * EVENTS_PER_REQUEST[scenario];
        return {
          threads,
          cores,
          eventsPerSecond: Math.round(eventsPerSecond),
          eventsPerSecondPerCore: Math.round(eventsPerSecond / cores.split(',').length),
          cpuSecondsPerMillion: ((cpuSecondsOf(pid) - before.cpu) / events) * 1e6,
          mainThreadCpuSecondsPerMillion: (mainSeconds / events) * 1e6,
          latencyP99Ms: result.latencyUs.p99 / 1000,
          load: load.stop(),
        };
      } finally {
        await server.stop();
      }
    });
    scenarios[scenario] = {
      runs: all,
      medianEventsPerSecond: medians(all, (r) => r.eventsPerSecond),
      medianEventsPerSecondPerCore: medians(all, (r) => r.eventsPerSecondPerCore),
      medianCpuSecondsPerMillion: medians(all, (r) => r.cpuSecondsPerMillion),
      medianMainThreadCpuSecondsPerMillion: medians(all, (r) => r.mainThreadCpuSecondsPerMillion),
    };
  }
  writeResult('scaling', {
    seconds,
    warmupSeconds: warmup,
    runsPerVariant: runs,
    command: `sparkngin start with http.threads 1 under taskset -c 0, 2 under taskset -c 0,1 (no sink); wrk -t2 -c64 -d${seconds}s --latency -s bench/wrk/<scenario>.lua (unpinned)`,
    scenarios,
  });
}
