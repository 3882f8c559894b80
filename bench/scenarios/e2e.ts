// HTTP → Kafka end to end, Sparkngin against nginx + lua-resty-kafka (bench/nginx/lua-kafka.conf),
// both delivering into the same local Kafka 3.9 (lua-resty-kafka 0.07 cannot speak to Kafka 4).
// For each run: a fresh server and a fresh pre-created topic; a warm-up to another topic, waited
// out until its records are all in Kafka; then wrk -t2 -c64 for N seconds while the topic's record
// count (end offsets) is sampled, and on after wrk stops until every accepted event is in Kafka
// (or the count stops moving). accepted/s = 2xx answers × events per request / wrk's seconds;
// delivered/s = records in Kafka / seconds from the load's start to the last record's arrival.
import type { Broker } from '../lib/kafka';
import { traceDelivery } from '../lib/kafka';
import { alternate, medians, rssMb, runs, setting, sleep, watchCpu, watchLoad, writeResult } from '../lib/run';
import { type Server, nginxErrors, startNginx, startSparkngin } from '../lib/servers';
import { EVENTS_PER_REQUEST, latencyMedians, wrk, type WrkScenario } from '../lib/wrk';

const seconds = setting('BENCH_SECONDS', 5, 15);
const warmup = setting('BENCH_WARMUP', 2, 5);
type Variant = 'sparkngin' | 'sparkngin@base' | 'sparkngin {threads}' | 'nginx-lua-kafka';
/** A/B of a change: BENCH_BASE_BUNDLE=<a build/sparkngin.cjs from before it> adds it as `sparkngin@base`. */
const baseBundle = process.env.BENCH_BASE_BUNDLE;
/** BENCH_E2E_THREADS=N adds `sparkngin {threads}`: the events port on N threads (`http.threads`). */
const threads = process.env.BENCH_E2E_THREADS === undefined ? undefined : Number(process.env.BENCH_E2E_THREADS);
/** The servers to run (a comma list; default all). */
const only = process.env.BENCH_SERVERS?.split(',').filter(Boolean);

export async function e2e(broker: Broker): Promise<void> {
  const all: Record<Variant, (() => Promise<Server>) | undefined> = {
    sparkngin: () => startSparkngin({ kafka: broker.peer.brokers }),
    'sparkngin@base': baseBundle === undefined ? undefined : () => startSparkngin({ kafka: broker.peer.brokers, bundle: baseBundle }),
    'sparkngin {threads}': threads === undefined ? undefined : () => startSparkngin({ kafka: broker.peer.brokers, threads }),
    'nginx-lua-kafka': () => startNginx('lua-kafka', broker.peer.port),
  };
  const start = Object.fromEntries(Object.entries(all).filter(([name, starter]) => starter !== undefined && (only === undefined || only.includes(name)))) as Record<Variant, () => Promise<Server>>;
  const scenarios: Record<string, unknown> = {};
  let serial = 0;
  for (const scenario of ['single', 'ndjson100'] as WrkScenario[]) {
    const all = await alternate(Object.keys(start) as Variant[], runs, async (variant) => {
      const id = `${++serial}-${scenario}-${variant.replace(/[^a-z0-9-]/g, "-")}`;
      const warmTopic = `e2e-warm-${id}`;
      const topic = `e2e-${id}`;
      await broker.createTopic(warmTopic);
      await broker.createTopic(topic);
      const server = await start[variant]();
      try {
        const warm = await wrk(scenario, `${server.url}/v1/topics/${warmTopic}`, warmup);
        await traceDelivery(broker, warmTopic, { since: Date.now(), expected: (warm.requests - warm.non2xx) * EVENTS_PER_REQUEST[scenario], quietMs: 5_000 });
        await sleep(500);
        let wrkPid: number | undefined;
        let loadDone = false;
        const load = watchLoad(() => [...server.pids(), wrkPid, broker.peer.pid]);
        const cpu = watchCpu(() => ({ server: server.pids(), broker: [broker.peer.pid], wrk: [wrkPid] }));
        const since = Date.now();
        let expected: number | undefined;
        const tracing = traceDelivery(broker, topic, { since, quietMs: 5_000, everyMs: 250, notBefore: () => loadDone, expected: () => expected });
        const result = await wrk(scenario, `${server.url}/v1/topics/${topic}`, seconds, (pid) => (wrkPid = pid));
        const cpuDuringLoad = cpu.stop();
        const atLoadEnd = await broker.count(topic);
        const accepted = (result.requests - result.non2xx) * EVENTS_PER_REQUEST[scenario];
        expected = accepted;
        loadDone = true;
        const rss = Math.round(rssMb(server.mainPid));
        const trace = await tracing;
        const runSeconds = result.durationUs / 1e6;
        const deliveredSeconds = (trace.lastMs ?? 0) / 1000;
        return {
          wrk: result,
          acceptedEvents: accepted,
          acceptedPerSecond: accepted / runSeconds,
          deliveredEvents: trace.delivered,
          deliveredAtLoadEnd: atLoadEnd,
          deliveredPerSecond: trace.delivered / Math.max(deliveredSeconds, runSeconds),
          drainSecondsAfterLoad: Math.max(0, deliveredSeconds - runSeconds),
          missing: Math.max(0, accepted - trace.delivered),
          rssMb: rss,
          load: load.stop(),
          cpu: cpuDuringLoad,
          samples: trace.samples,
          ...(variant === 'nginx-lua-kafka' ? { nginxErrors: nginxErrors(server).split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l) && !l.includes('forbidden')).slice(-5) } : {}),
        };
      } finally {
        await server.stop();
      }
    });
    scenarios[scenario] = {
      runs: all,
      medianAcceptedPerSecond: medians(all, (r) => r.acceptedPerSecond),
      medianDeliveredPerSecond: medians(all, (r) => r.deliveredPerSecond),
      ...latencyMedians(all, (r) => r.wrk),
    };
  }
  writeResult('e2e', { seconds, warmupSeconds: warmup, runsPerVariant: runs, kafka: broker.peer.version, partitions: 3, command: `wrk -t2 -c64 -d${seconds}s --latency -s bench/wrk/<scenario>.lua <url>/v1/topics/<fresh topic>`, scenarios });
}
