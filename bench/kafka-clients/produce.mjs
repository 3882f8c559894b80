// One bake-off run of one client: node produce.mjs <client> <broker> <topic> <records> [batch=2000] [inFlight=5]
// Sends the records in batches (as the sink does), keeping up to <inFlight> sends outstanding, and
// prints one JSON line: seconds and CPU seconds (user + system of the whole process, every thread,
// from connect() done to the last send resolved), records/s, CPU seconds per million records, RSS.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { batch } from './records.mjs';

const [client, broker, topic, recordsArg, batchArg = '2000', inFlightArg = '5'] = process.argv.slice(2);
const total = Number(recordsArg);
const perBatch = Number(batchArg);
const inFlight = Number(inFlightArg);
const { connect } = await import(`./clients/${client}.mjs`);
const producer = await connect(broker);
// A short warm-up on the same topic (counted in the total), so that connection set-up and the
// producer-id handshake are not in the timed part.
await producer.send(topic, batch(0, Math.min(perBatch, total)));
let next = Math.min(perBatch, total);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
async function loop() {
  while (next < total) {
    const start = next;
    const count = Math.min(perBatch, total - start);
    next += count;
    await producer.send(topic, batch(start, count));
  }
}
await Promise.all(Array.from({ length: inFlight }, loop));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const timed = total - Math.min(perBatch, total);
// CPU seconds of the whole process so far by thread name: the JavaScript thread ("node") against
// libuv's pool, V8's helpers and librdkafka's own threads ("rdk:broker1", ...).
const threads = {};
for (const tid of readdirSync('/proc/self/task')) {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads[name] = Math.round(((threads[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100) * 100) / 100;
  } catch {
    // the thread ended meanwhile
  }
}
await producer.close();
console.log(`PRODUCE_JSON ${JSON.stringify({ client, node: process.version, records: total, timedRecords: timed, batch: perBatch, inFlight, seconds, recordsPerSecond: timed / seconds, cpuSeconds, cpuSecondsPerMillion: (cpuSeconds * 1e6) / timed, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), threads })}`);
process.exit(0);
