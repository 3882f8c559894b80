// Prototype for issue 8's "many cores" question: the real HTTP ingest (createIngestServer: routing,
// body, NDJSON scan, ids, envelope encoding) on W worker threads sharing one port (SO_REUSEPORT),
// each handing its request's encoded records to the one spool writer on the main thread (one
// message per request, the bytes transferred, not copied), which group-commits them and answers
// with the sequence numbers. Not the daemon: no sinks, no /stats; it measures how ingest scales.
//   node build/bench/ingest-workers.cjs W PORT DIR SECONDS
// Prints, after SECONDS, the events stored and the CPU seconds of every thread of the process and
// of the writer (main) thread alone (/proc/self/task/*/stat), per million events.
// bench/micro/ingest-workers.sh runs it under taskset with wrk and alternates W = 1 and 2.
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { defaultConfig } from '../../src/config/defaults';
import { encodeEnvelopes } from '../../src/envelope/codec-binary';
import type { Envelope } from '../../src/envelope/envelope';
import { createIngestServer } from '../../src/ingest/server';
import type { IngestTarget } from '../../src/ingest/target';
import { silentLogger } from '../../src/ops/log';
import { Spool } from '../../src/spool/spool';

interface Append {
  id: number;
  bytes: ArrayBuffer;
  lengths: Uint32Array;
}

const TICKS = 100; // USER_HZ

function cpuSeconds(task: string): number {
  const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function writer(): Promise<void> {
  const [workers, port, dir, seconds] = process.argv.slice(2).map((arg, i) => (i === 2 ? arg : Number(arg))) as [number, number, string, number];
  const config = defaultConfig();
  const spool = await Spool.open({ dir, ...config.spool, maxBytes: 64 * 1024 ** 3 });
  const threads = Array.from({ length: workers }, () => new Worker(__filename, { workerData: { port } }));
  for (const thread of threads) {
    thread.on('message', (message: Append | 'listening') => {
      if (message === 'listening') return;
      const { id, bytes, lengths } = message;
      const payloads: Buffer[] = [];
      let at = 0;
      for (const length of lengths) {
        payloads.push(Buffer.from(bytes, at, length));
        at += length;
      }
      spool.append(payloads).then(
        ({ firstSeq, lastSeq }) => thread.postMessage({ id, firstSeq, lastSeq }),
        (error: Error) => thread.postMessage({ id, error: error.message }),
      );
    });
  }
  await Promise.all(threads.map((thread) => new Promise((resolve) => thread.once('message', resolve))));
  const start = { all: processCpu(), writer: cpuSeconds(String(process.pid)), events: spool.stats().appendedRecords };
  console.log('ready');
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const events = spool.stats().appendedRecords - start.events;
  const all = processCpu() - start.all;
  const main = cpuSeconds(String(process.pid)) - start.writer;
  console.log(JSON.stringify({ workers, events, eventsPerSecond: Math.round(events / seconds), cpuSecondsPerMillion: (all / events) * 1e6, writerCpuSecondsPerMillion: (main / events) * 1e6 }));
  process.exit(0);
}

function processCpu(): number {
  return readdirSync('/proc/self/task').reduce((sum, task) => sum + cpuSeconds(task), 0);
}

function ingest(): void {
  const port = parentPort!;
  let serial = 0;
  const waiting = new Map<number, (error?: string) => void>();
  port.on('message', ({ id, error }: { id: number; error?: string }) => {
    waiting.get(id)?.(error);
    waiting.delete(id);
  });
  const target: IngestTarget = {
    accept(envelopes: Envelope[]) {
      const payloads = encodeEnvelopes(envelopes);
      const lengths = new Uint32Array(payloads.length);
      payloads.forEach((payload, i) => (lengths[i] = payload.length));
      const joined = Buffer.concat(payloads);
      // A Buffer from concat may be a view of a shared pool: transfer a copy of exactly its bytes.
      const bytes = joined.buffer.byteLength === joined.length ? joined.buffer : joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.length);
      const id = ++serial;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, (error) => (error ? reject(new Error(error)) : resolve()));
        port.postMessage({ id, bytes, lengths } satisfies Append, [bytes as ArrayBuffer, lengths.buffer]);
      });
    },
    notReadyReasons: () => [],
  };
  const server = createIngestServer({ config: defaultConfig(), target, logger: silentLogger });
  server.listen({ host: '127.0.0.1', port: (workerData as { port: number }).port, reusePort: true } as never, () => port.postMessage('listening'));
}

if (isMainThread) void writer();
else ingest();
