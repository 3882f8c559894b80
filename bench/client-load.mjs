// The client library as a load generator, in a process of its own (as wrk is): the ESM bundle users
// get (build/client/index.mjs), sending the ~60-byte event of bench/wrk/ndjson100.lua as fast as it
// is acknowledged for `seconds`, with at most `window` events outstanding. Prints one JSON line:
// events acknowledged (and per second), per-event latency percentiles (send() to its promise), and
// with `trace`, the file of [sentAt, resolvedAt, instance index, attempts] per event for the
// failover scenario, and the CPU time this process spent per acknowledged event (the client's cost
// to the application, measured apart from how busy the machine is). Arguments: one JSON object {urls, topic, seconds, ack, batch, maxInFlight, window, trace}.
import { writeFileSync } from 'node:fs';
import { createClient } from '../build/client/index.mjs';

const options = JSON.parse(process.argv[2]);
const { urls, topic, seconds, ack = 'spool', batch = 100, maxInFlight = 64, window = 20_000, trace } = options;
const client = createClient({ urls, ack, maxInFlight, healthIntervalMs: 100, batch: { maxEvents: batch, lingerMs: 2 }, buffer: { maxBytes: 256 * 1024 * 1024 } });
await client.ready();

const latencies = [];
const rows = trace ? [] : undefined;
let acked = 0;
let failed = 0;
let outstanding = 0;
let room;
const started = Date.now();
const cpuBefore = process.cpuUsage();
const end = started + seconds * 1000;
let n = 0;
while (Date.now() < end) {
  const sentAt = performance.now();
  const wall = Date.now();
  outstanding++;
  client.send(topic, { user: n++, page: '/home', ref: 'https://example.com/x' }).then(
    (delivery) => {
      const resolvedAt = Date.now();
      if (resolvedAt <= end) {
        acked++;
        latencies.push(performance.now() - sentAt);
      }
      rows?.push(wall, resolvedAt, urls.indexOf(delivery.instance), delivery.attempts ?? 1);
    },
    () => failed++,
  ).finally(() => {
    outstanding--;
    if (outstanding <= window / 2 && room) {
      const wake = room;
      room = undefined;
      wake();
    }
  });
  if (outstanding >= window) await new Promise((resolve) => (room = resolve));
  else if ((n & 1023) === 0) await new Promise((resolve) => setImmediate(resolve));
}
const cpu = process.cpuUsage(cpuBefore);
await client.close();
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 100) / 100);
if (trace) writeFileSync(trace, JSON.stringify(rows));
const stats = client.stats();
console.log(
  JSON.stringify({ sent: n, acked, failed, seconds, eventsPerSecond: Math.round(acked / seconds), cpuMicrosPerEvent: Math.round(((cpu.user + cpu.system) / Math.max(1, acked)) * 100) / 100, latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) }, retries: stats.retries, requests: stats.instances.map((i) => i.acked) }),
);
