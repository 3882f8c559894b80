// What reading a record's topic from its header (peekTopic) saves the dispatcher against decoding
// the whole envelope (decodeEnvelope), for records a sink does not take: 200 000 spooled envelopes
// (NDJSON-sized payload, a key, two headers), 7 alternating rounds of each, median ns per record.
// Run: npx esbuild bench/micro/peek-topic.ts --bundle --platform=node --outfile=build/bench/peek-topic.cjs --log-level=warning && node build/bench/peek-topic.cjs
import { decodeEnvelope, encodeEnvelope, peekTopic } from '../../src/envelope/codec-binary';
import { newEventId } from '../../src/envelope/envelope';

const N = 200_000;
const payload = Buffer.from(JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0' }));
const records = Array.from({ length: N }, (_, i) =>
  encodeEnvelope({ id: newEventId(), topic: `web.clicks.${i % 8}`, key: `user-${i % 1000}`, ts: Date.now(), ip: '10.0.0.1', host: 'ingest-1', headers: { origin: 'web', env: 'prod' }, type: 'json', data: payload }),
);

function round(read: (bytes: Buffer) => string): number {
  let hits = 0;
  const start = process.hrtime.bigint();
  for (const bytes of records) if (read(bytes) === 'web.clicks.0') hits++;
  const ns = Number(process.hrtime.bigint() - start) / N;
  if (hits !== N / 8) throw new Error('wrong topics');
  return ns;
}

const peek: number[] = [];
const decode: number[] = [];
for (let i = 0; i < 7; i++) {
  peek.push(round(peekTopic));
  decode.push(round((bytes) => decodeEnvelope(bytes).topic));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(JSON.stringify({ records: N, peekNsPerRecord: Math.round(median(peek)), decodeNsPerRecord: Math.round(median(decode)), ratio: +(median(decode) / median(peek)).toFixed(1) }));
