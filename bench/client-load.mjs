// The client library as a load generator, in a process of its own (as wrk is): the ESM bundle users
// get (build/client/index.mjs), sending `{"user":N,"page":"/home","ref":"https://example.com/x"}`
// (the event of the wrk bodies the client scenario compares it with) with `send()`, as fast as it is
// acknowledged, with at most `window` events outstanding. It stops sending after `seconds` (or
// `events`), then closes the client (every event settled). Prints one JSON line:
// - eventsPerSecond: events acknowledged within the `seconds` (the throughput);
// - cpuSecondsPerMillion: this process's CPU time (user + system, every thread) from the first send
//   until close() resolved, per million events sent (every one of them settled by then): the cost of
//   sending an event through the client, a promise per event awaited by the application included;
//   contention on a busy machine distorts it far less than wall time;
// - per-event latency percentiles (send() to its promise) of one event in `sampleEvery`;
// - with `trace`, the file of [sentAt, resolvedAt, instance index, attempts] per event (failover).
// The loop is what a lean application does: one send() and one then() per event, with shared
// callbacks (no closure per event) except for the sampled and traced events.
// Arguments: one JSON object {urls, topic, seconds, events, ack, batch, maxInFlight, lingerMs, window, sampleEvery, trace}.
import { writeFileSync } from 'node:fs';
import { createClient } from '../build/client/index.mjs';

const options = JSON.parse(process.argv[2]);
const { urls, topic, seconds = 10, events = Infinity, ack = 'spool', batch = 1000, maxInFlight = 8, lingerMs = 2, window = 4 * batch * maxInFlight, sampleEvery = 32, trace } = options;
const client = createClient({ urls, ack, maxInFlight, healthIntervalMs: 100, batch: { maxEvents: batch, lingerMs }, buffer: { maxBytes: 256 * 1024 * 1024 } });
await client.ready();

const latencies = [];
const rows = trace ? [] : undefined;
let acked = 0;
let ackedInTime = 0;
let failed = 0;
let outstanding = 0;
let room;
let end = Infinity;

function settledOne() {
  outstanding--;
  if (room !== undefined && outstanding <= window / 2) {
    const wake = room;
    room = undefined;
    wake();
  }
}
function onAcked() {
  acked++;
  if (Date.now() <= end) ackedInTime++;
  settledOne();
}
function onFailed() {
  failed++;
  settledOne();
}
function sampled(sentAt) {
  return () => {
    if (Date.now() <= end) latencies.push(performance.now() - sentAt);
    onAcked();
  };
}
function traced(wall) {
  return (delivery) => {
    const resolvedAt = Date.now();
    rows.push(wall, resolvedAt, urls.indexOf(delivery.instance), delivery.attempts ?? 1);
    if (resolvedAt <= end) latencies.push(resolvedAt - wall);
    onAcked();
  };
}

const cpuBefore = process.cpuUsage();
const started = Date.now();
end = started + seconds * 1000;
let n = 0;
while (n < events && Date.now() < end) {
  // A burst of sends between looks at the clock and the window, as an application logging in a loop does.
  for (let burst = 0; burst < 256 && n < events; burst++) {
    const value = { user: n, page: '/home', ref: 'https://example.com/x' };
    const onSent = rows !== undefined ? traced(Date.now()) : n % sampleEvery === 0 ? sampled(performance.now()) : onAcked;
    outstanding++;
    n++;
    client.send(topic, value).then(onSent, onFailed);
  }
  if (outstanding >= window) await new Promise((resolve) => (room = resolve));
  else await new Promise((resolve) => setImmediate(resolve));
}
const sendingSeconds = (Date.now() - started) / 1000;
// A run bounded by `events` measures throughput over the time it took.
if (events !== Infinity) end = Infinity;
await client.close();
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 100) / 100);
if (trace) writeFileSync(trace, JSON.stringify(rows));
const stats = client.stats();
const wallSeconds = events !== Infinity ? (Date.now() - started) / 1000 : seconds;
console.log(
  JSON.stringify({
    sent: n,
    acked,
    failed,
    seconds: Math.round(wallSeconds * 100) / 100,
    sendingSeconds: Math.round(sendingSeconds * 100) / 100,
    eventsPerSecond: Math.round((events !== Infinity ? acked : ackedInTime) / wallSeconds),
    cpuSeconds: Math.round(cpuSeconds * 1000) / 1000,
    cpuSecondsPerMillion: Math.round((cpuSeconds * 1e6 * 100) / Math.max(1, n)) / 100,
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    retries: stats.retries,
    requests: stats.instances.map((i) => i.acked),
  }),
);
