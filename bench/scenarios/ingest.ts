// HTTP ingest without Kafka: Sparkngin (ack after the group-commit fdatasync, file sink off, so what
// is measured is ingest into the spool) beside nginx `return 204` and a bare Node http server, single
// ~100-byte events and NDJSON ×100, wrk -t2 -c64, each server fresh for each run, runs alternating.
import { alternate, medians, rssMb, runs, setting, sleep, watchLoad, writeResult } from '../lib/run';
import { type Server, startBareNode, startNginx, startSparkngin } from '../lib/servers';
import { EVENTS_PER_REQUEST, latencyMedians, wrk, type WrkScenario } from '../lib/wrk';

const seconds = setting('BENCH_SECONDS', 5, 15);
const warmup = setting('BENCH_WARMUP', 2, 5);
const servers = { 'nginx-204': () => startNginx('return-204'), 'bare-node': startBareNode, sparkngin: () => startSparkngin() };
type Variant = keyof typeof servers;

export async function ingest(): Promise<void> {
  const scenarios: Record<string, unknown> = {};
  for (const scenario of ['single', 'ndjson100'] as WrkScenario[]) {
    const all = await alternate(Object.keys(servers) as Variant[], runs, async (variant) => {
      const server: Server = await servers[variant]();
      try {
        const url = `${server.url}/v1/topics/bench`;
        await wrk(scenario, url, warmup);
        await sleep(500);
        let wrkPid: number | undefined;
        const load = watchLoad(() => [...server.pids(), wrkPid]);
        const result = await wrk(scenario, url, seconds, (pid) => (wrkPid = pid));
        return { ...result, eventsPerSecond: result.okPerSecond * EVENTS_PER_REQUEST[scenario], rssMb: Math.round(rssMb(server.mainPid)), load: load.stop() };
      } finally {
        await server.stop();
      }
    });
    scenarios[scenario] = {
      runs: all,
      medianRequestsPerSecond: medians(all, (r) => r.okPerSecond),
      medianEventsPerSecond: medians(all, (r) => r.eventsPerSecond),
      ...latencyMedians(all, (r) => r),
    };
  }
  writeResult('ingest', { seconds, warmupSeconds: warmup, runsPerVariant: runs, command: `wrk -t2 -c64 -d${seconds}s --latency -s bench/wrk/<scenario>.lua <url>/v1/topics/bench`, scenarios });
}
