// The daemon process against clients that try to make it hold too much: connections past its
// descriptor limit, floods of pipelined requests while a sink (a Kafka broker that is not there) is
// down, a body of millions of tiny events, sockets we cut off whose client keeps them open. Each
// asserts counts the daemon reports (/stats) or the kernel shows (/proc/<pid>), never durations:
// memory stays bounded, /health keeps answering, normal requests are still served. Also end to end:
// a gzip body and the tracking pixel with its cookies, delivered to the file sink.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { closedByServer, openClient, pipeline, type RawClient } from '../raw-http';
import { settled, until } from '../wait';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const MiB = 1024 * 1024;

const rssOf = (daemon: DaemonProcess) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.pid()}/status`, 'utf8'))![1]) * 1024;
const descriptorsOf = (daemon: DaemonProcess) => readdirSync(`/proc/${daemon.pid()}/fd`).length;

/** The ingest part of /stats. `requestsInFlight` counts the /stats request itself: 1 when nothing else is in flight. */
interface IngestStats {
  connections: number;
  requestsInFlight: number;
  bufferedBytes: number;
  sinkAckWaiting: number;
  refused: Array<{ status: number; code: string; count: number }>;
}
const ingestStats = async (daemon: DaemonProcess) => ((await (await fetch(`${daemon.url}/stats`)).json()) as { ingest: IngestStats }).ingest;

describe('with the Kafka sink down (no broker at its address)', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    const nobody = await freePort();
    daemon = await startDaemon({
      config: {
        sinks: { file: { enabled: false }, kafka: { brokers: [`127.0.0.1:${nobody}`], retry: { initialMs: 200, maxMs: 1000 } } },
        http: { maxSinkAckRequests: 200, sinkAckTimeoutMs: 4000, maxPipelinedRequests: 16 },
      },
    });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  const sinkBeacon = 'GET /v1/topics/flood?data=1&ack=sink HTTP/1.1\r\nHost: x\r\n\r\n';

  it('20,000 pipelined ack=sink requests hold bounded memory; /health and ack=spool are served meanwhile; gone, they are let go', async () => {
    const rssBefore = rssOf(daemon);
    const client = await openClient(daemon.port);
    pipeline(client.socket, sinkBeacon, 20_000);
    // The daemon reads what fits its limits and stops: in flight, at most 16 plus one read (64 KiB) of requests.
    const last = await settled(async () => (await ingestStats(daemon)).requestsInFlight, 'the daemon stopped reading the flood', 10);
    expect(last).toBeGreaterThanOrEqual(16);
    expect(last).toBeLessThanOrEqual(16 + Math.ceil((64 * 1024) / sinkBeacon.length));
    const stats = await ingestStats(daemon);
    expect(stats.sinkAckWaiting).toBeLessThanOrEqual(200);
    // Before these bounds, 300,000 such requests took the daemon from 56 MB to 2.8 GB.
    expect(rssOf(daemon) - rssBefore).toBeLessThan(100 * MiB);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    expect((await postEvents(daemon.url, 'normal', [{ ok: true }])).status).toBe(202);
    // The client leaves: its requests stop waiting at once, long before their 504.
    client.socket.destroy();
    await until(async () => {
      const now = await ingestStats(daemon);
      return now.requestsInFlight === 1 && now.sinkAckWaiting === 0 && now.bufferedBytes === 0;
    }, 'the requests of the client that left were let go');
  });

  it('100,000 pipelined ack=spool requests whose answers are not read hold bounded memory; read, all are answered', async () => {
    const rssBefore = rssOf(daemon);
    const client = await openClient(daemon.port);
    client.socket.pause();
    const total = 100_000;
    const request = 'GET /v1/topics/unread?data=1 HTTP/1.1\r\nHost: x\r\n\r\n';
    pipeline(client.socket, request, total);
    const taken = await settled(async () => (await ingestStats(daemon)).requestsInFlight, 'the daemon stopped reading the client', 10);
    // Stopped well before the end: about 20 MB of answers do not fit what the kernel buffers.
    const spooled = ((await (await fetch(`${daemon.url}/stats`)).json()) as { spool: { appendedRecords: number } }).spool.appendedRecords;
    expect(spooled).toBeLessThan(total);
    // Node sends a pipelined answer only once the one before it reached the kernel: unread answers
    // wait unanswered, so the pipelining bound holds them (16, plus what one read brought in).
    expect(taken).toBeLessThanOrEqual(16 + Math.ceil((64 * 1024) / request.length));
    // Before this bound such a client grew the daemon by 800 MB in one run.
    expect(rssOf(daemon) - rssBefore).toBeLessThan(100 * MiB);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    client.socket.resume();
    await until(() => client.count(202) === total, `all ${total} requests were answered`, 120_000);
    client.socket.destroy();
  });

  it('past http.maxSinkAckRequests waiting, ack=sink requests are refused 503 SINK_ACK_BUSY; those waiting get 504', async () => {
    const busyBefore = (await ingestStats(daemon)).refused.find((entry) => entry.code === 'SINK_ACK_BUSY')?.count ?? 0;
    const clients = await Promise.all(Array.from({ length: 30 }, () => openClient(daemon.port)));
    for (const { socket } of clients) pipeline(socket, sinkBeacon, 16);
    const total = (status: number) => clients.reduce((sum, client) => sum + client.count(status), 0);
    await until(() => total(503) + total(504) === 480, 'all 480 requests were answered');
    expect({ busy: total(503), timedOut: total(504) }).toEqual({ busy: 280, timedOut: 200 });
    expect(clients.some((client) => client.text().includes('"code":"SINK_ACK_BUSY"'))).toBe(true);
    const stats = await ingestStats(daemon);
    expect(stats.sinkAckWaiting).toBe(0);
    expect(stats.refused).toContainEqual({ status: 503, code: 'SINK_ACK_BUSY', count: busyBefore + 280 });
    for (const { socket } of clients) socket.destroy();
  });
});

describe('past the descriptor limit', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    // 512 descriptors: http.maxConnections (10,000 by default) is lowered to 512 - 256 reserved.
    daemon = await startDaemon({ launcher: ['prlimit', '--nofile=512', '--'], config: { http: { bodyTimeoutMs: 60_000 } } });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  it('lowers the connection limit to fit, and idle connections never lock a client out', async () => {
    expect(daemon.logs()).toMatch(/"ingest\.connection_limit_lowered".*"used":256/);
    const idle: Socket[] = [];
    for (let i = 0; i < 600; i++) {
      const client = await openClient(daemon.port);
      client.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      idle.push(client.socket);
    }
    await until(async () => (await ingestStats(daemon)).requestsInFlight === 1, 'every idle client had its answer');
    expect(descriptorsOf(daemon)).toBeLessThanOrEqual(512);
    expect((await ingestStats(daemon)).connections).toBeLessThanOrEqual(256);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    expect((await postEvents(daemon.url, 'after-idle', [{ ok: 1 }])).status).toBe(202);
    expect(daemon.logs()).not.toMatch(/ingest\.accept_failed/);
    for (const socket of idle) socket.destroy();
  });

  it('with every connection busy, a new one is answered 503 TOO_MANY_CONNECTIONS and let go', async () => {
    // fetch() keeps a connection or two of its own open.
    await until(async () => (await ingestStats(daemon)).connections <= 4, 'the idle clients are gone');
    // Busy: each request is in the daemon's hands (it asked for the body with `100 Continue`), its
    // body still to come. No /stats meanwhile: with every connection busy it would be refused too.
    // One after the other: a connection that has sent nothing yet is idle, and a newer one may take its place.
    const busy: RawClient[] = [];
    for (let i = 0; i < 256; i++) {
      const client = await openClient(daemon.port);
      const asked = new Promise((resolve) => client.socket.once('data', resolve));
      client.socket.write('POST /v1/topics/busy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n');
      await asked;
      expect(client.count(100)).toBe(1);
      busy.push(client);
    }
    const refused = await openClient(daemon.port);
    await closedByServer(refused.socket);
    expect(refused.text()).toMatch(/^HTTP\/1\.1 503 [^]*retry-after: 1[^]*"TOO_MANY_CONNECTIONS"/);
    expect(descriptorsOf(daemon)).toBeLessThanOrEqual(512);
    for (const { socket } of busy) socket.write('{}');
    await until(() => busy.every((client) => client.count(202) === 1), 'the busy requests were taken');
    for (const { socket } of busy) socket.destroy();
    refused.socket.destroy();
    await until(async () => (await ingestStats(daemon)).connections <= 4, 'the busy clients are gone');
    expect((await postEvents(daemon.url, 'after-busy', [{ ok: 1 }])).status).toBe(202);
  });
});

describe('with the defaults and the file sink', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = await startDaemon({ config: { tracker: { topic: 'visits' } } });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  const delivered = async (topic: string, count: number) => {
    const file = join(daemon.dataDir, 'out', `${topic}.ndjson`);
    let lines: string[] = [];
    await until(async () => {
      lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      return lines.length >= count;
    }, `${count} events of ${topic} were delivered`);
    return lines.map((line) => JSON.parse(line) as { key?: string; data: any });
  };

  it('refuses one maximum-size body of tiny events (16 MiB, 8 million) with 413, memory bounded', async () => {
    const rssBefore = rssOf(daemon);
    const zeros = Buffer.alloc(16 * MiB - 1, ',0');
    zeros[0] = 0x5b;
    zeros[zeros.length - 1] = 0x5d;
    for (const [type, body] of [['application/json', zeros], ['application/x-ndjson', Buffer.alloc(16 * MiB, '0\n')]] as const) {
      const response = await fetch(`${daemon.url}/v1/topics/tiny`, { method: 'POST', headers: { 'content-type': type }, body });
      expect({ type, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ type, status: 413, code: 'TOO_MANY_EVENTS' });
    }
    // Before the bound one such body ran the heap out of memory (about 500 bytes per event).
    expect(rssOf(daemon) - rssBefore).toBeLessThan(400 * MiB);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
  });

  it('gives back the descriptor of every socket it cut off, though the clients keep theirs open', async () => {
    const before = descriptorsOf(daemon);
    const clients = await Promise.all(Array.from({ length: 40 }, () => openClient(daemon.port)));
    clients.forEach(({ socket }, i) =>
      socket.write(
        i % 2 === 0
          ? `POST /v1/topics/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * MiB}\r\n\r\n{`
          : 'NOT HTTP AT ALL\r\n\r\n',
      ),
    );
    await Promise.all(clients.map(({ socket }) => closedByServer(socket)));
    expect(clients.map((client) => client.text().slice(9, 12))).toEqual(clients.map((_, i) => (i % 2 === 0 ? '413' : '400')));
    await until(() => descriptorsOf(daemon) <= before, 'the daemon gave the descriptors back');
    for (const { socket } of clients) socket.destroy();
  });

  it('takes a gzip body: the events are delivered decoded', async () => {
    const body = gzipSync('{"zipped":1}\n{"zipped":2}\n');
    const response = await fetch(`${daemon.url}/v1/topics/zipped`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, body });
    expect(response.status).toBe(202);
    expect((await delivered('zipped', 2)).map((event) => event.data)).toEqual([{ zipped: 1 }, { zipped: 2 }]);
  });

  it('serves the tracking pixel: a visitor followed by its cookies across two requests, delivered', async () => {
    const first = await fetch(`${daemon.url}/tracker/landing/example.com`, { headers: { 'user-agent': 'IT/1' } });
    expect([first.status, first.headers.get('content-type')]).toEqual([200, 'image/gif']);
    const cookie = first.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const second = await fetch(`${daemon.url}/tracker/landing/example.com`, { headers: { 'user-agent': 'IT/1', cookie } });
    expect(second.status).toBe(200);
    const events = await delivered('visits', 2);
    expect(events.map((event) => [event.data.visitor.visitCount, event.data.name, event.data.site, event.data.headers['user-agent']])).toEqual([
      [1, 'landing', 'example.com', 'IT/1'],
      [2, 'landing', 'example.com', 'IT/1'],
    ]);
    expect(events[1]!.key).toBe(events[0]!.key);
    expect(events[1]!.data.visitor.id).toBe(events[0]!.data.visitor.id);
  });
});
