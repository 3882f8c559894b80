// A/B of the Kafka sink's settings under single events (wrk -t2 -c64, ~100-byte events, as `e2e`),
// paired so that a busy machine's load falls on all alike: per round, each variant in turn gets a
// fresh daemon and topic, wrk for $SECS seconds (default 10), then /metrics for the sends it made.
// Per run: requests/s, sends and records per send (sparkngin_sink_batch_records), records in Kafka,
// the daemon's CPU per request (/proc/PID/stat) and the whole machine's (/proc/stat: broker and wrk
// included), wrk's p99. A variant is `base` (the defaults) or more keys of the Kafka sink in YAML
// flow style, e.g. "batch: {lingerMs: 0}".
//   npx esbuild bench/micro/linger-ab.ts --bundle --platform=node --format=esm \
//     --outfile=build/bench/linger-ab.mjs --external:kafkajs \
//     --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
//   VARIANTS="base,batch: {lingerMs: 0}" ROUNDS=4 node build/bench/linger-ab.mjs
//   (BENCH_SPARKNGIN_BUNDLE=… runs another build)
import { startBroker } from '../lib/kafka';
import { cpuSecondsOf, machineBusySeconds } from '../lib/run';
import { startSparkngin } from '../lib/servers';
import { wrk } from '../lib/wrk';

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes('"kafka"'));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

const variants = (process.env.VARIANTS ?? 'base,batch: {lingerMs: 0}').split(/,(?![^{]*})/);
const rounds = Number(process.env.ROUNDS ?? 4);
const seconds = Number(process.env.SECS ?? 10);
const broker = await startBroker('3.9');
try {
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const prefix = `la${round}v${variants.indexOf(variant)}-`;
      await broker.createTopic(`${prefix}bench`);
      const server = await startSparkngin({ kafka: broker.peer.brokers, topicPrefix: prefix, ...(variant === 'base' ? {} : { kafkaYaml: variant }) });
      const daemon0 = cpuSecondsOf(server.mainPid);
      const machine0 = machineBusySeconds();
      const result = await wrk('single', `${server.url}/v1/topics/bench`, seconds);
      const daemonCpu = cpuSecondsOf(server.mainPid) - daemon0;
      const machineCpu = machineBusySeconds() - machine0;
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const sends = metric(metrics, 'sparkngin_sink_batch_records_count') ?? 0;
      const records = metric(metrics, 'sparkngin_sink_batch_records_sum') ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const inKafka = await broker.count(`${prefix}bench`);
      await server.stop();
      console.log(
        JSON.stringify({
          variant,
          round,
          requestsPerSecond: Math.round(result.okPerSecond),
          sends,
          recordsPerSend: sends === 0 ? 0 : +(records / sends).toFixed(1),
          inKafka,
          daemonCpuUsPerRequest: +((daemonCpu * 1e6) / result.requests).toFixed(1),
          machineCpuUsPerRequest: +((machineCpu * 1e6) / result.requests).toFixed(1),
          p99Ms: +(result.latencyUs.p99 / 1000).toFixed(1),
        }),
      );
    }
  }
} finally {
  await broker.close();
}
