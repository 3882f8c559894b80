// What the daemon's ingest thread spends per event between a request body and the spool's records,
// for the bodies of the client scenario (bench/lib/wrk.ts): ndjson100 (wrk's NDJSON) and nw1-100
// (the client library's NW1 body for the same 100 events). Per request: parse (+ strict checks),
// envelopes, the spool's bytes, the answer's text; the same code the route runs (src/ingest/*),
// without HTTP and the disk. 15 alternating rounds, median CPU ns per event (process.cpuUsage).
// Run: npx esbuild bench/micro/nw1-ingest.ts --bundle --platform=node --outfile=build/bench/nw1-ingest.cjs --log-level=warning && node_modules/.bin/node build/bench/nw1-ingest.cjs
import { encodeEnvelope, encodeEnvelopes } from '../../src/envelope/codec-binary';
import { newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes, NW1_CONTENT_TYPE } from '../../src/envelope/nw1';
import type { IngestContext } from '../../src/ingest/context';
import { buildEnvelopes } from '../../src/ingest/envelopes';
import { bodyParser } from '../../src/ingest/parse';
import { acceptedBody } from '../../src/ingest/respond';

const REQUESTS = 5_000;
const PER = 100;
const payloads = Array.from({ length: PER }, (_, user) => JSON.stringify({ user, page: '/home', ref: 'https://example.com/x' }));
const ndjson = Buffer.from(`${payloads.join('\n')}\n`);
const nw1 = frameEnvelopes(payloads.map((json) => encodeEnvelope({ id: newEventId(), topic: 'bench', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json', data: Buffer.from(json) })));
const context = { now: () => Date.now(), host: 'bench-host' } as unknown as IngestContext;
const meta = { key: undefined, sts: undefined, ip: '127.0.0.1', headers: newHeaders(), ack: 'spool' } as never;

let sink = 0;
function cpuNsPerEvent(contentType: string, body: Buffer): number {
  const parse = bodyParser(contentType);
  const start = process.cpuUsage();
  for (let r = 0; r < REQUESTS; r++) {
    const batch = parse(body, 10_000, 'bench');
    const built = buildEnvelopes(context, 'bench', meta, batch);
    // As the daemon's target does (src/daemon/ingest-target.ts): the records the route made, else the encoder's.
    const records = (built as { records?: Buffer[] }).records ?? encodeEnvelopes(built.envelopes);
    const ids = built.ids;
    sink += records[records.length - 1]!.length + acceptedBody(ids).length;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / (REQUESTS * PER);
}

const rounds: Record<string, number[]> = { ndjson100: [], 'nw1-100': [] };
for (let round = 0; round < 15; round++) {
  rounds.ndjson100!.push(cpuNsPerEvent('application/x-ndjson', ndjson));
  rounds['nw1-100']!.push(cpuNsPerEvent(NW1_CONTENT_TYPE, nw1));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(JSON.stringify({ requests: REQUESTS, eventsPerRequest: PER, nsPerEvent: Object.fromEntries(Object.entries(rounds).map(([name, values]) => [name, Math.round(median(values))])), sink: sink > 0 }));
