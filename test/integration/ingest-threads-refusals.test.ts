// The main thread's target refuses (src/ingest/threads/protocol.ts toWire/fromWire): a request an
// ingest thread took is answered exactly as on one thread, whatever route, with the same status,
// JSON body and headers (Retry-After). The same requests go to a daemon on one thread and one on two
// (each request on a connection of its own, so the kernel spreads them over both threads; all of a
// kind on one thread has a chance of 2^-15), with the Kafka sink down (no broker at its address):
// ack=sink requests past http.maxSinkAckRequests (503 SINK_ACK_BUSY), the one waiting (504
// SINK_ACK_TIMEOUT), and every request once the spool is full (503 SPOOL_FULL).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const ROUNDS = 16;

/** One request on a connection of its own: what a client sees of the answer. */
function send(url: string, path: string, headers: Record<string, string>, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const { 'content-type': type, 'retry-after': retryAfter } = response.headers;
        resolve(JSON.stringify({ status: response.statusCode, type, retryAfter, body: Buffer.concat(chunks).toString() }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const kinds: Array<[string, string, Record<string, string>, string]> = [
  ['v1', '/v1/topics/refused?ack=sink', { 'content-type': 'application/json' }, '{"a":1}'],
  ['REST Proxy v2', '/topics/refused?ack=sink', { 'content-type': 'application/vnd.kafka.json.v2+json' }, '{"records":[{"value":{"v":2}}]}'],
  ['REST Proxy v3', '/v3/clusters/c/topics/refused/records?ack=sink', { 'content-type': 'application/json' }, '{"value":{"type":"JSON","data":{"v":3}}}'],
];

/** Every kind's distinct answers: one request of it waiting for the sinks, ROUNDS more refused meanwhile. */
async function sinkAckAnswers(daemon: DaemonProcess): Promise<Record<string, string[]>> {
  const seen: Record<string, string[]> = {};
  for (const [kind, path, headers, body] of kinds) {
    const waiting = send(daemon.url, path, headers, body);
    await until(async () => ((await (await fetch(`${daemon.url}/stats`)).json()) as any).ingest.sinkAckWaiting === 1, `${kind}: one ack=sink request waiting`);
    const busy = await Promise.all(Array.from({ length: ROUNDS }, () => send(daemon.url, path, headers, body)));
    seen[kind] = [...new Set([await waiting, ...busy])].sort();
  }
  return seen;
}

/** Every kind's distinct refusals once the spool is full. */
async function spoolFullAnswers(daemon: DaemonProcess): Promise<Record<string, string[]>> {
  // Batches, then single events into what room is left.
  for (const size of [20, 1]) {
    for (let n = 0; (await postEvents(daemon.url, 'filler', Array.from({ length: size }, (_, i) => ({ n: n + i, pad: 'p'.repeat(200 / size) })))).status === 202; n += size) {
      if (n > 100_000) throw new Error('the spool never filled');
    }
  }
  const seen: Record<string, string[]> = {};
  for (const [kind, path, headers, body] of kinds) {
    const answers = await Promise.all(Array.from({ length: ROUNDS }, () => send(daemon.url, path.replace('?ack=sink', ''), headers, body)));
    // The refusals: a small request may still find room the spool makes (on one thread as on two).
    seen[kind] = [...new Set(answers.filter((answer) => JSON.parse(answer).status !== 202))].sort();
  }
  return seen;
}

describe("the main thread's refusals, answered by an ingest thread", () => {
  const daemons: DaemonProcess[] = [];
  beforeAll(async () => {
    for (const threads of [1, 2]) {
      const nowhere = `127.0.0.1:${await freePort()}`;
      daemons.push(
        await startDaemon({
          config: {
            http: { threads, maxSinkAckRequests: 1, sinkAckTimeoutMs: 2_000 },
            spool: { segmentBytes: 64 * 1024, maxBytes: 256 * 1024, fullPolicy: 'reject' },
            sinks: { file: { enabled: false }, kafka: { brokers: [nowhere], retry: { initialMs: 200, maxMs: 1000 } } },
          },
        }),
      );
    }
    await until(async () => ((await (await fetch(`${daemons[1]!.url}/stats`)).json()) as any).ingest.threads?.length === 2, 'both threads listening');
  });
  afterAll(async () => {
    for (const daemon of daemons) await daemon.close();
  });

  it('are the same status, JSON and headers as on one thread: SINK_ACK_BUSY, SINK_ACK_TIMEOUT, SPOOL_FULL', async () => {
    const [one, two] = daemons as [DaemonProcess, DaemonProcess];
    const sinkAck = await sinkAckAnswers(two);
    expect(sinkAck).toEqual(await sinkAckAnswers(one));
    // Each kind: the busy answer and the timed-out one, nothing else.
    for (const [kind] of kinds) expect(sinkAck[kind]!.map((answer) => JSON.parse(answer).status).sort(), kind).toEqual([503, 504]);
    expect(sinkAck.v1!.join()).toContain('SINK_ACK_BUSY');
    const full = await spoolFullAnswers(two);
    expect(full).toEqual(await spoolFullAnswers(one));
    for (const [kind] of kinds) {
      expect(full[kind]!.length, kind).toBe(1);
      expect(JSON.parse(full[kind]![0]!).status, kind).toBe(503);
      expect(Number(JSON.parse(full[kind]![0]!).retryAfter), kind).toBeGreaterThanOrEqual(1);
    }
    expect(full.v1!.join()).toContain('SPOOL_FULL');
  }, 180_000);
});
