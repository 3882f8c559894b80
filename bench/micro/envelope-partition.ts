// What the envelope's optional partition (a u32 trailer after the payload, src/envelope/README.md)
// costs the codec: 100 000 envelopes (NDJSON-sized payload, a key, two headers) encoded as one
// request's batches of 1000 (encodeEnvelopes) and decoded one by one, without and with a partition,
// 15 alternating rounds, median CPU ns per event (process.cpuUsage: steadier than wall time on a
// shared machine). Run: npx esbuild bench/micro/envelope-partition.ts --bundle --platform=node --outfile=build/bench/envelope-partition.cjs --log-level=warning && node_modules/.bin/node build/bench/envelope-partition.cjs
import { decodeEnvelope, encodeEnvelopes } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId } from '../../src/envelope/envelope';

const N = 100_000;
const payload = Buffer.from(JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0' }));
const headers = { origin: 'web', env: 'prod' };
const make = (partition: number | undefined): Envelope[] =>
  Array.from({ length: N }, (_, i) => {
    const envelope: Envelope = { id: newEventId(), topic: 'web.clicks', key: `user-${i % 1000}`, ts: 1_700_000_000_000, ip: '10.0.0.1', host: 'ingest-1', headers, type: 'json', data: payload };
    if (partition !== undefined) envelope.partition = partition;
    return envelope;
  });

function cpuNsPerEvent(work: () => void): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / N;
}

const rounds: Record<string, number[]> = {};
let checksum = 0;
for (let round = 0; round < 15; round++) {
  for (const [name, envelopes] of [['plain', make(undefined)], ['partition', make(2)]] as const) {
    const encoded: Buffer[] = [];
    (rounds[`${name}.encodeNs`] ??= []).push(cpuNsPerEvent(() => {
      for (let i = 0; i < N; i += 1000) encoded.push(...encodeEnvelopes(envelopes.slice(i, i + 1000)));
    }));
    (rounds[`${name}.decodeNs`] ??= []).push(cpuNsPerEvent(() => {
      for (const bytes of encoded) checksum += decodeEnvelope(bytes).partition ?? 1;
    }));
  }
}
if (checksum !== 15 * N * 3) throw new Error('decoded the wrong partitions');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(JSON.stringify({ events: N, ...Object.fromEntries(Object.entries(rounds).map(([name, values]) => [name, Math.round(median(values))])) }));
