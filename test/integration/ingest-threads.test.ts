// http.threads: 2 (src/ingest/threads/): the events port served by the main thread and an ingest
// thread (SO_REUSEPORT), against the real daemon process. Every request goes on a connection of its
// own, so the kernel spreads them over both threads (each kind's requests all landing on one thread
// has a chance of 2^-15): every route kind is answered as on one thread, /stats counts what both
// acknowledged and refused (and says each thread's part), the file sink has every event once, and
// the connection bound holds for the whole daemon.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelopes } from '../../src/envelope/codec-binary';
import { newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes, NW1_CONTENT_TYPE } from '../../src/envelope/nw1';
import { fileSinkLines } from '../chaos/load';
import { freePort } from '../peers/ports';
import { type IssuedCert, makeTestCa, type TestCa } from '../peers/test-ca';
import { until } from '../wait';
import { type DaemonProcess, startDaemon } from './daemon-process';

/** Requests of each kind, each on a new connection. */
const ROUNDS = 16;
const TOKEN = 'threads-test-token-0123456789abcdef';

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** One request on a connection of its own (no keep-alive pool): the kernel picks the thread for each. */
function send(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

async function stats(url: string): Promise<any> {
  return JSON.parse((await send(url, 'GET', '/stats')).body);
}

/** The main thread answers as soon as it listens; the other thread a moment later. */
async function bothThreadsUp(url: string): Promise<void> {
  await until(async () => (await stats(url)).ingest.threads?.length === 2, 'both threads listening');
}

describe('ingest on two threads', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = await startDaemon({
      config: {
        http: { threads: 2 },
        auth: { tokens: [{ name: 'all', sha256: createHash('sha256').update(TOKEN).digest('hex'), topics: ['*'] }], openTopics: ['open.*', 'tracker'] },
      },
    });
    await bothThreadsUp(daemon.url);
  });
  afterAll(async () => {
    await daemon?.close();
  });

  it('answers every route kind on both threads, stores every event once, and /stats sums both threads', async () => {
    const nw1 = () => frameEnvelopes(encodeEnvelopes([0, 1].map(() => ({ id: newEventId(), topic: 't.nw1', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json' as const, data: Buffer.from('{"nw1":true}') }))));
    const large = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(40) })).join('\n');
    const legacy = JSON.stringify({ header: { topic: 't.legacy', key: 'k' }, data: { data: Buffer.from('{"old":true}').toString('base64') } });
    // kind → [request, expected status, events it stores, its topic]
    const kinds: Array<[string, () => Promise<Answer>, number, number, string | undefined]> = [
      ['v1 JSON', () => send(daemon.url, 'POST', '/v1/topics/t.json', json, '{"a":1}'), 202, 1, 't.json'],
      ['v1 NDJSON', () => send(daemon.url, 'POST', '/v1/topics/t.ndjson', { ...json, 'content-type': 'application/x-ndjson' }, '{"a":1}\n{"a":2}\n{"a":3}\n'), 202, 3, 't.ndjson'],
      // Over 64 KiB of records: handed to the main thread by transfer rather than copy.
      ['v1 NDJSON, 2000 events', () => send(daemon.url, 'POST', '/v1/topics/t.large', { ...json, 'content-type': 'application/x-ndjson' }, large), 202, 2000, 't.large'],
      ['v1 NW1', () => send(daemon.url, 'POST', '/v1/topics/t.nw1', { ...json, 'content-type': NW1_CONTENT_TYPE }, nw1()), 202, 2, 't.nw1'],
      ['v1 ack=sink', () => send(daemon.url, 'POST', '/v1/topics/t.sink?ack=sink', json, '{"a":1}'), 202, 1, 't.sink'],
      ['GET beacon (open topic)', () => send(daemon.url, 'GET', `/v1/topics/open.beacon?data=${encodeURIComponent('{"b":1}')}`), 202, 1, 'open.beacon'],
      ['tracker pixel', () => send(daemon.url, 'GET', '/tracker/signup/example.com'), 200, 1, 'tracker'],
      ['legacy /message/json', () => send(daemon.url, 'POST', '/message/json', { authorization: `Bearer ${TOKEN}` }, legacy), 200, 1, 't.legacy'],
      ['REST Proxy v2', () => send(daemon.url, 'POST', '/topics/t.v2', { ...json, 'content-type': 'application/vnd.kafka.json.v2+json' }, '{"records":[{"value":{"v":2}},{"value":{"v":3}}]}'), 200, 2, 't.v2'],
      ['REST Proxy v3', () => send(daemon.url, 'POST', '/v3/clusters/c/topics/t.v3/records', json, '{"value":{"type":"JSON","data":{"v":3}}}'), 200, 1, 't.v3'],
      ['no credential: 401', () => send(daemon.url, 'POST', '/v1/topics/t.closed', { 'content-type': 'application/json' }, '{"a":1}'), 401, 0, undefined],
    ];
    const before = await stats(daemon.url);
    let acceptedRequests = 0;
    let acceptedEvents = 0;
    for (const [kind, make, status, events, topic] of kinds) {
      const threadsBefore = (await stats(daemon.url)).ingest.threads as Array<{ thread: string; acceptedRequests: number }>;
      const answers = await Promise.all(Array.from({ length: ROUNDS }, make));
      expect(answers.map((answer) => answer.status), kind).toEqual(Array(ROUNDS).fill(status));
      if (events === 0) continue;
      acceptedRequests += ROUNDS;
      acceptedEvents += ROUNDS * events;
      // Both threads acknowledged some of this kind.
      const threadsAfter = (await stats(daemon.url)).ingest.threads as Array<{ thread: string; acceptedRequests: number }>;
      const grew = threadsAfter.map((after, i) => after.acceptedRequests - (threadsBefore[i]?.acceptedRequests ?? 0));
      expect(grew.length, kind).toBe(2);
      expect(grew.every((count) => count > 0), `${kind}: requests per thread ${grew}`).toBe(true);
      expect(grew[0]! + grew[1]!, kind).toBe(ROUNDS);
      await until(async () => (await fileSinkLines(`${daemon.dataDir}/out`, topic!)).length === ROUNDS * events, `${kind}: ${ROUNDS * events} events in the file sink`);
    }
    // What crossed between the threads is what was sent, byte for byte.
    const counts = new Map<number, number>();
    for (const line of await fileSinkLines(`${daemon.dataDir}/out`, 't.large')) {
      expect(line.data.pad).toBe('x'.repeat(40));
      counts.set(line.data.i, (counts.get(line.data.i) ?? 0) + 1);
    }
    expect([counts.size, new Set(counts.values())]).toEqual([2000, new Set([ROUNDS])]);
    // The operations endpoints answer on both threads with the whole daemon's numbers.
    const after = await Promise.all(Array.from({ length: ROUNDS }, () => stats(daemon.url)));
    for (const seen of after) {
      expect(seen.ingest.accepted.requests - before.ingest.accepted.requests).toBe(acceptedRequests);
      expect(seen.ingest.accepted.events - before.ingest.accepted.events).toBe(acceptedEvents);
      expect(seen.ingest.threads.reduce((sum: number, thread: any) => sum + thread.acceptedRequests, 0)).toBe(seen.ingest.accepted.requests);
      expect(seen.ingest.refused.find((entry: any) => entry.status === 401)?.count).toBe(ROUNDS);
      expect(seen.spool.nextSeq).toBe(acceptedEvents);
    }
    for (const [path, status, type] of [
      ['/metrics', 200, 'text/plain'],
      ['/imok', 200, 'text/plain'],
      ['/ready', 200, 'application/json'],
      ['/health', 200, 'application/json'],
    ] as const) {
      const answers = await Promise.all(Array.from({ length: ROUNDS }, () => send(daemon.url, 'GET', path)));
      for (const answer of answers) expect([path, answer.status, answer.type.split(';')[0]]).toEqual([path, status, type]);
      if (path === '/metrics') for (const answer of answers) expect(answer.body).toContain(`sparkngin_ingest_accepted_events_total ${acceptedEvents}`);
    }
  }, 120_000);
});

describe('the connection bound across threads', () => {
  let daemon: DaemonProcess;
  let ops: string;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    const opsPort = await freePort();
    ops = `http://127.0.0.1:${opsPort}`;
    daemon = await startDaemon({ config: { http: { threads: 2, maxConnections: 4 }, ops: { listen: `127.0.0.1:${opsPort}` } } });
    await until(async () => ((await (await fetch(`${ops}/stats`)).json()) as any).ingest.threads?.length === 2, 'both threads listening');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await daemon?.close();
  });

  it('holds no more than http.maxConnections in all, each thread its share, and refuses the rest 503', async () => {
    const opened = 12;
    const answers: string[] = [];
    const counted = async () => {
      const seen = (await (await fetch(`${ops}/stats`)).json()) as any;
      const refused = seen.ingest.refused.find((entry: any) => entry.code === 'TOO_MANY_CONNECTIONS')?.count ?? 0;
      return { seen, refused };
    };
    for (let i = 0; i < opened; i++) {
      const socket = connect(daemon.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => answers.push(chunk.toString()));
      // A request in progress (its body not all sent): not idle, so never evicted to make room.
      socket.write('POST /v1/topics/held HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{');
      sockets.push(socket);
      // One at a time: a connection that has sent nothing yet is idle, and would make room for the next.
      await until(async () => {
        const { seen, refused } = await counted();
        return seen.ingest.requestsInFlight + refused === i + 1;
      }, `connection ${i + 1} held or refused`);
    }
    const { seen, refused } = await counted();
    expect(seen.ingest.requestsInFlight).toBeLessThanOrEqual(4);
    expect(refused).toBe(opened - seen.ingest.requestsInFlight);
    // Once the refused ones are closed (they linger 2 s for their 503 to be read), each thread holds
    // at most its share, floor(4 / 2); which thread the kernel picks is its own choice.
    await until(async () => (await counted()).seen.ingest.connections === seen.ingest.requestsInFlight, 'the refused connections closed');
    for (const thread of (await counted()).seen.ingest.threads) expect(thread.connections).toBeLessThanOrEqual(2);
    await until(() => answers.filter((text) => text.startsWith('HTTP/1.1 503')).length === refused, 'a 503 for every refused connection');
    expect(answers.every((text) => text.includes('TOO_MANY_CONNECTIONS'))).toBe(true);
  }, 120_000);
});

describe('TLS on two threads', () => {
  let dir: string;
  let ca: TestCa;
  let daemon: DaemonProcess;
  let initial: IssuedCert;
  const live = () => ({ cert: join(dir, 'live-cert.pem'), key: join(dir, 'live-key.pem') });
  const install = async (issued: IssuedCert) => {
    await writeFile(live().cert, issued.certPem);
    await writeFile(live().key, issued.keyPem);
  };
  const serialOf = async (issued: IssuedCert) => (await promisify(execFile)('openssl', ['x509', '-noout', '-serial', '-in', issued.cert])).stdout.trim().replace(/^serial=/, '').toUpperCase();
  /** One HTTPS request on a connection of its own: its status, body and the serial of the certificate served. */
  const sendTls = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; body: string; serial: string }>((resolve, reject) => {
      const req = httpsRequest(`${daemon.url}${path}`, { method, ca: ca.certPem, agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
        const serial = (response.socket as TLSSocket).getPeerCertificate().serialNumber.toUpperCase();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString(), serial }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const threads = async () => JSON.parse((await sendTls('GET', '/stats')).body).ingest.threads as Array<{ acceptedRequests: number }> | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkngin-threads-tls-'));
    ca = await makeTestCa(dir);
    initial = await ca.issue('server');
    await install(initial);
    daemon = await startDaemon({ config: { http: { threads: 2 }, tls: live() }, https: { ca: ca.certPem } });
    await until(async () => (await threads())?.length === 2, 'both threads listening');
  });
  afterAll(async () => {
    await daemon?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS on both threads, and each takes the new certificate on SIGHUP', async () => {
    const first = await serialOf(initial);
    for (const expected of [first, undefined]) {
      let serial = expected;
      if (serial === undefined) {
        const second = await ca.issue('server-2');
        await install(second);
        serial = await serialOf(second);
        daemon.signal('SIGHUP');
        // The main thread and the other one each say so.
        await until(() => daemon.logs().split('"event":"tls.reloaded"').length - 1 === 2, 'both threads reloaded the certificate');
      }
      const before = (await threads())!;
      const answers = await Promise.all(Array.from({ length: ROUNDS }, (_, i) => sendTls('POST', '/v1/topics/tls', `{"n":${i}}`)));
      expect(answers.map((answer) => [answer.status, answer.serial])).toEqual(Array(ROUNDS).fill([202, serial]));
      const after = (await threads())!;
      expect(after.map((thread, i) => thread.acceptedRequests - before[i]!.acceptedRequests).every((grew) => grew > 0)).toBe(true);
    }
  }, 120_000);
});
