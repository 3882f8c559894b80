// The HTTP ingest against hostile or broken clients (ingest-harness.ts: a real server, real HTTP
// clients and raw sockets, a recording target): input that used to be changed silently, and every
// resource a client can make it hold. Assertions are on counts and states, never on durations.
import { request as httpRequest } from 'node:http';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../src/envelope/codec-binary';
import { envelopeToJson } from '../../src/envelope/codec-json';
import { ingestLoad } from '../../src/ingest/server';
import { closedByServer, openClient, pipeline } from '../raw-http';
import { type Answer, busyConnections, expectLongestIdleGivesWay, expectPipeliningBounded, finishBusy, jsonOf, MAX_BODY, raw, sendTo, serverPerFile, settled, SHORT_DEADLINES, startServer, until } from './ingest-harness';

// The harness's servers have no deadline to hit; the tests with a 408 case start one with the short ones.
const h = serverPerFile();

const send = (path: string, init: RequestInit = {}): Promise<Answer> => sendTo(h.url, path, init);
const post = (path: string, contentType: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  send(path, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
const expectError = (answer: Answer, status: number, code: string) => expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });

/** A request written byte for byte (header values that no HTTP client library would send). */
const rawPost = (path: string, headers: string, body: string) =>
  Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`),
    Buffer.from(headers, 'latin1'),
    Buffer.from(`\r\n${body}`),
  ]);

/** The status of each answer in what a raw client received, in order. */
const statusesOf = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('names from input are data, never object machinery', () => {
  const tricky = ['constructor', '__proto__', 'hasownproperty', 'tostring', 'valueof'];

  it('keeps event headers named like Object.prototype members, through both codecs', async () => {
    const headers = Object.fromEntries(tricky.map((name, i) => [`x-sparkngin-header-${name}`, `v${i}`]));
    expect((await post('/v1/topics/names', 'application/json', '{}', headers)).status).toBe(202);
    const [event] = h.target.events;
    expect(Object.entries(event!.headers).sort()).toEqual(tricky.map((name, i) => [name, `v${i}`]).sort());
    expect(Object.getPrototypeOf(event!.headers)).toBeNull();
    const decoded = decodeEnvelope(encodeEnvelope(event!));
    expect(Object.entries(decoded.headers).sort()).toEqual(Object.entries(event!.headers).sort());
    expect(JSON.parse(envelopeToJson(event!)).headers.__proto__).toBe('v1');
  });

  it('joins a repeated `constructor` header as it joins any other', async () => {
    const { text } = await raw(h.port, rawPost('/v1/topics/names', 'X-Sparkngin-Header-Constructor: a\r\nX-Sparkngin-Header-Constructor: b\r\n', '{}'));
    expect(text).toMatch(/^HTTP\/1\.1 202 /);
    expect({ ...h.target.events[0]!.headers }).toEqual({ constructor: 'a, b' });
  });

  it('refuses a content type named `constructor` (415), not a crash (500)', async () => {
    expectError(await post('/v1/topics/names', 'constructor', '{}'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('request headers past the 2,000th', () => {
  it('are kept: the key and ack mode sent after 2,500 others still count', async () => {
    const filler = Array.from({ length: 2_500 }, (_, i) => `f${i}: x\r\n`).join('');
    const { text } = await raw(h.port, rawPost('/v1/topics/many', `${filler}X-Sparkngin-Key: late-key\r\nX-Sparkngin-Ack: sink\r\n`, '{}'));
    expect(text).toMatch(/^HTTP\/1\.1 202 /);
    expect(h.target.events[0]!.key).toBe('late-key');
    expect(h.target.calls[0]!.ack).toBe('sink');
  });

  it('are bounded by the header size: past it, 431', async () => {
    const filler = Array.from({ length: 5_000 }, (_, i) => `f${i}: x\r\n`).join('');
    const { text } = await raw(h.port, rawPost('/v1/topics/many', filler, '{}'));
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(jsonOf(text).error.code).toBe('HEADERS_TOO_LARGE');
  });
});

describe('text that must be UTF-8', () => {
  it('decodes the query strictly: bad escapes and bytes that are not UTF-8 are 400, never U+FFFD', async () => {
    // Wherever it is: a parameter no route reads, or the repeat of one whose first value is used.
    for (const query of ['key=%ff', 'key=%fe', 'key=%zz', 'key=a%', 'sts=%ff1', 'ack=%c3%28', '%ff=1', 'x=%ff', 'data=%80', 'key=a&key=%ff', 'ack=spool&ack=%zz']) {
      expectError(await post(`/v1/topics/q?${query}`, 'application/json', '{}'), 400, 'INVALID_QUERY');
    }
    for (const data of ['%ff', '%C3%28', '%ED%A0%80' /* a UTF-16 surrogate, as UTF-8 */]) {
      expectError(await send(`/v1/topics/q?data=${data}`), 400, 'INVALID_QUERY');
      const legacy = await send(`/message/json?data=${data}`);
      expect({ status: legacy.status, legacy: legacy.body.status }).toEqual({ status: 400, legacy: 'ERROR' });
    }
    expect(h.target.calls).toHaveLength(0);
    expect((await post('/v1/topics/q?key=caf%C3%A9+cr%C3%A8me', 'application/json', '{}')).status).toBe(202);
    expect((await send('/v1/topics/q?data=%E2%82%AC%201')).status).toBe(202);
    expect(h.target.events.map((event) => [event.key, event.data.toString()])).toEqual([
      ['café crème', '{}'],
      [undefined, '€ 1'],
    ]);
  });

  it('refuses header values that are not UTF-8 (a key, an event header)', async () => {
    for (const header of ['X-Sparkngin-Key: \xff\xfe\r\n', 'X-Sparkngin-Header-City: Z\xfcrich\r\n']) {
      const { text } = await raw(h.port, rawPost('/v1/topics/h', header, '{}'));
      expect(text).toMatch(/^HTTP\/1\.1 400 /);
      expect(jsonOf(text).error.code).toBe('INVALID_UTF8');
    }
    expect(h.target.calls).toHaveLength(0);
  });

  it('refuses an original Sparkngin Message that is not UTF-8, or whose key no UTF-8 can carry', async () => {
    const message = (key: string) => `{"header":{"topic":"legacy","key":${key}},"data":{"data":"e30="}}`;
    const notUtf8 = await send('/message/json', { method: 'POST', body: Buffer.from(message('"k\xe9"'), 'latin1') });
    expect({ status: notUtf8.status, ack: notUtf8.body.status, message: notUtf8.body.message }).toEqual({ status: 400, ack: 'ERROR', message: expect.stringMatching(/UTF-8/) });
    const surrogate = await send('/message/json', { method: 'POST', body: message('"k\\ud800"') });
    expect({ status: surrogate.status, message: surrogate.body.message }).toEqual({ status: 400, message: expect.stringMatching(/surrogate/) });
    expect(h.target.calls).toHaveLength(0);
  });
});

describe('Content-Encoding', () => {
  const ndjson = '{"a":1}\n{"b":"Zoë"}\n';
  const decoded = () => h.target.events.map((event) => event.data.toString());

  it('decodes gzip (x-gzip too), zlib deflate and raw deflate; identity is no coding', async () => {
    const bodies: Array<[string, Buffer]> = [
      ['gzip', zlib.gzipSync(ndjson)],
      ['x-gzip', zlib.gzipSync(ndjson)],
      ['deflate', zlib.deflateSync(ndjson)],
      ['deflate', zlib.deflateRawSync(ndjson)],
      ['identity', Buffer.from(ndjson)],
    ];
    for (const [encoding, body] of bodies) {
      h.target.calls = [];
      const answer = await post('/v1/topics/zipped', 'application/x-ndjson', body, { 'content-encoding': encoding });
      expect({ encoding, status: answer.status, events: decoded() }).toEqual({ encoding, status: 202, events: ['{"a":1}', '{"b":"Zoë"}'] });
    }
  });

  it('decodes zstd when this Node has it, and otherwise refuses it with 415 naming what it takes', async () => {
    const compress = (zlib as { zstdCompressSync?: (data: string) => Buffer }).zstdCompressSync;
    const answer = await post('/v1/topics/zipped', 'application/x-ndjson', compress ? compress(ndjson) : Buffer.from('not zstd'), { 'content-encoding': 'zstd' });
    if (compress) {
      expect({ status: answer.status, events: decoded() }).toEqual({ status: 202, events: ['{"a":1}', '{"b":"Zoë"}'] });
    } else {
      expectError(answer, 415, 'UNSUPPORTED_ENCODING');
      expect(answer.headers.get('accept-encoding')).toBe('gzip, deflate');
    }
  });

  it('refuses unknown or stacked codings with 415 and Accept-Encoding, before reading the body', async () => {
    for (const encoding of ['br', 'compress', 'gzip, gzip', 'constructor']) {
      const answer = await post('/v1/topics/zipped', 'application/x-ndjson', ndjson, { 'content-encoding': encoding });
      expectError(answer, 415, 'UNSUPPORTED_ENCODING');
      expect(answer.body.error.message).toMatch(/gzip, deflate/);
      expect(answer.headers.get('accept-encoding')).toMatch(/^gzip, deflate/);
    }
    expect(h.target.calls).toHaveLength(0);
  });

  it('refuses a body that is not what its coding says with 400', async () => {
    const truncated = zlib.gzipSync(ndjson).subarray(0, 15);
    for (const [encoding, body] of [['gzip', Buffer.from(ndjson)], ['gzip', truncated], ['deflate', Buffer.from('not deflate at all')]] as const) {
      expectError(await post('/v1/topics/zipped', 'application/x-ndjson', body, { 'content-encoding': encoding }), 400, 'INVALID_ENCODING');
    }
    expect(h.target.calls).toHaveLength(0);
  });

  it('refuses a zip bomb with 413 after at most maxBodyBytes of output, holding no more than that', async () => {
    // 32 MiB of zeros are 32 KiB of gzip: under the 64 KiB limit on the wire, 512 times it decoded.
    const bomb = zlib.gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 5; i++) {
      const answer = await post('/v1/topics/bomb', 'application/x-ndjson', bomb, { 'content-encoding': 'gzip' });
      expectError(answer, 413, 'BODY_TOO_LARGE');
      expect(answer.body.error.message).toMatch(/once decoded \(gzip\)/);
    }
    const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    expect(heapAfter - heapBefore).toBeLessThan(32 * 1024 * 1024);
    expect(h.target.calls).toHaveLength(0);
  });

  it('decodes the original Sparkngin route\'s bodies too', async () => {
    const message = JSON.stringify({ header: { topic: 'legacy', key: 'g' }, data: { data: Buffer.from('{"z":1}').toString('base64') } });
    const answer = await send('/message/json', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: zlib.gzipSync(message) });
    expect(answer.body).toEqual({ messageId: 'g', status: 'OK', message: null });
    expect(decoded()).toEqual(['{"z":1}']);
  });
});

describe('events per request', () => {
  it('refuses one maximum-size body of tiny events (`[0,0,…]`, 8 million) with 413, holding little', async () => {
    const big = await startServer({ maxBodyBytes: 16 * 1024 * 1024 });
    try {
      // `[0,0,…,0]`: ',0' repeated, its first comma made `[` and a last comma `]`.
      const zeros = Buffer.alloc(16 * 1024 * 1024 - 1, ',0');
      zeros[0] = 0x5b;
      zeros[zeros.length - 1] = 0x5d;
      const lines = Buffer.alloc(16 * 1024 * 1024, '0\n');
      const before = process.memoryUsage().heapUsed;
      for (const [type, body] of [['application/json', zeros], ['application/x-ndjson', lines], ['text/plain', lines]] as const) {
        const answer = await sendTo(big.url, '/v1/topics/tiny', { method: 'POST', headers: { 'content-type': type }, body });
        expect({ type, status: answer.status, code: answer.body.error.code }).toEqual({ type, status: 413, code: 'TOO_MANY_EVENTS' });
        expect(answer.body.error.message).toMatch(/100000 events.*http\.maxEventsPerRequest/);
      }
      // Before the bound each of these held about 4 GB (500 bytes per event) and ended the process.
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(400 * 1024 * 1024);
      expect(big.target.calls).toHaveLength(0);
      expect((await sendTo(big.url, '/health')).status).toBe(200);
    } finally {
      await big.close();
    }
  });

  it('takes up to http.maxEventsPerRequest events, whatever the content type', async () => {
    const few = await startServer({ maxEventsPerRequest: 3 });
    try {
      const postTo = (type: string, body: string) => sendTo(few.url, '/v1/topics/few', { method: 'POST', headers: { 'content-type': type }, body });
      expect((await postTo('application/json', '[1,2,3]')).status).toBe(202);
      expect((await postTo('application/x-ndjson', '1\n2\n\n3\n')).status).toBe(202);
      expect((await postTo('text/plain', 'a\nb\nc')).status).toBe(202);
      for (const [type, body] of [['application/json', '[1,2,3,4]'], ['application/x-ndjson', '1\n2\n3\n4'], ['text/plain', 'a\nb\nc\nd']]) {
        expect({ type, code: (await postTo(type!, body!)).body.error.code }).toEqual({ type, code: 'TOO_MANY_EVENTS' });
      }
      expect(few.target.events).toHaveLength(9);
    } finally {
      await few.close();
    }
  });

  it('charges each event to http.maxBufferedBytes: many events in flight are answered 503, then taken once room is back', async () => {
    const tight = await startServer({ maxBufferedBytes: 256 * 1024 });
    try {
      const held = gate();
      tight.target.hold = held.promise;
      const events = (n: number) => Array.from({ length: n }, (_, i) => `{"i":${i}}`).join('\n');
      const postTo = (n: number) => sendTo(tight.url, '/v1/topics/many', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: events(n) });
      // 200 events are charged 200 KiB (+ the request): alone, they are let in and wait on the target.
      const first = postTo(200);
      await until(() => tight.target.calls.length === 1, 'the first request reached the target');
      expect(ingestLoad(tight.server).bufferedBytes).toBeGreaterThan(200 * 1024);
      const refused = await postTo(100);
      expectError(refused, 503, 'INGEST_BUSY');
      expect(refused.headers.get('retry-after')).toBe('1');
      held.open();
      expect((await first).status).toBe(202);
      expect((await postTo(100)).status).toBe(202);
      await until(() => ingestLoad(tight.server).bufferedBytes === 0, 'every share was given back');
    } finally {
      await tight.close();
    }
  });
});

describe('ack=sink requests', () => {
  it('tell the target when their client goes away, so that it stops waiting at once', async () => {
    h.target.hold = new Promise(() => undefined);
    const { socket } = await openClient(h.port);
    socket.write('GET /v1/topics/sink?data=1&ack=sink HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => h.target.calls.length === 1, 'the request reached the target');
    const { signal, onStored } = h.target.calls[0]!.options!;
    expect(typeof onStored).toBe('function');
    expect(signal!.aborted).toBe(false);
    socket.destroy();
    await until(() => signal!.aborted, 'the signal aborted');
    expect((signal!.reason as { code: string }).code).toBe('CLIENT_CLOSED');
  });

  it('ack=spool requests carry no signal (nothing to cancel, nothing made per request)', async () => {
    expect((await post('/v1/topics/spool', 'application/json', '{}')).status).toBe(202);
    expect(h.target.calls[0]!.options).toBeUndefined();
  });
});

describe('pipelined requests', () => {
  const beacon = 'GET /v1/topics/pipe?data=1 HTTP/1.1\r\nHost: x\r\n\r\n';

  it('stops reading a connection while maxPipelinedRequests of its requests are unanswered', async () => {
    const piped = await startServer({ maxPipelinedRequests: 8 });
    try {
      await expectPipeliningBounded(piped, 8, async () => (await sendTo(piped.url, '/health')).status);
    } finally {
      await piped.close();
    }
  });

  // Deadlines to spare: its 100,000 requests took up to 40 s with two copies of this file on a loaded 2-core machine.
  it('stops reading a connection whose client does not read its answers', async () => {
    const piped = await startServer({ maxUnreadResponseBytes: 64 * 1024 });
    try {
      const client = await openClient(piped.port);
      client.socket.pause();
      // 100,000 answers are about 20 MB, well past what the kernel buffers between the two ends.
      const total = 100_000;
      pipeline(client.socket, beacon, total);
      const taken = await settled(() => piped.target.calls.length, 'the server stopped taking requests');
      expect(taken).toBeLessThan(total / 2);
      expect(ingestLoad(piped.server).requestsInFlight).toBeLessThanOrEqual(piped.target.calls.length);
      expect((await sendTo(piped.url, '/health')).status).toBe(200);
      client.socket.resume();
      await until(() => client.count(202) === total, `all ${total} requests were answered`, 150_000);
      client.socket.destroy();
    } finally {
      await piped.close();
    }
  }, 180_000);
});

describe('connections', () => {
  it('past http.maxConnections, a new connection takes the place of the longest idle one', async () => {
    const few = await startServer({ maxConnections: 5 });
    try {
      await expectLongestIdleGivesWay(few, 5, async () => (await sendTo(few.url, '/health')).status);
    } finally {
      await few.close();
    }
  });

  it('past http.maxConnections with none idle, 503 TOO_MANY_CONNECTIONS with Retry-After, and the socket is let go', async () => {
    const few = await startServer({ maxConnections: 5 });
    try {
      const busy = await busyConnections(few.port, 5);
      await until(() => ingestLoad(few.server).requestsInFlight === 5, 'five requests are in progress');
      const refused = await openClient(few.port);
      // The client keeps its end open; the server lets the socket go all the same.
      await closedByServer(refused.socket);
      expect(refused.text()).toMatch(/^HTTP\/1\.1 503 /);
      expect(refused.text()).toMatch(/\r\nretry-after: 1\r\n/);
      expect(jsonOf(refused.text()).error.code).toBe('TOO_MANY_CONNECTIONS');
      await until(() => ingestLoad(few.server).connections === 5, 'the refused connection is closed');
      expect(few.refusals.snapshot()).toContainEqual({ status: 503, code: 'TOO_MANY_CONNECTIONS', count: 1 });
      // The busy ones finish their requests and are served; then there is room again.
      expect(await finishBusy(busy)).toEqual(Array(5).fill('HTTP/1.1 202'));
      for (const socket of busy) socket.destroy();
      await until(() => ingestLoad(few.server).connections === 0, 'the busy connections closed');
      expect((await sendTo(few.url, '/health')).status).toBe(200);
    } finally {
      await few.close();
    }
  });

  it('sockets cut off after an answer (413, 408, malformed) are released even if the client keeps its end open', async () => {
    // The harness's short deadlines, for the 408 case.
    const quick = await startServer(SHORT_DEADLINES);
    try {
      const baseline = ingestLoad(h.server).connections;
      const cases = [
        ['413', h, `POST /v1/topics/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n{`],
        ['408', quick, 'GET /health HTTP/1.1\r\nHost: x\r\n'],
        ['400', h, 'GARBAGE\r\n\r\n'],
      ] as const;
      const clients = await Promise.all(cases.map(([, server]) => openClient(server.port)));
      clients.forEach(({ socket }, i) => socket.write(cases[i]![2]));
      await Promise.all(clients.map(({ socket }) => closedByServer(socket)));
      expect(clients.map((client) => client.text().slice(9, 12))).toEqual(cases.map(([status]) => status));
      await until(() => ingestLoad(h.server).connections === baseline && ingestLoad(quick.server).connections === 0, 'the servers let every socket go');
    } finally {
      await quick.close();
    }
  });

  it('serves no request read after the last answer of its connection (408, 413): nothing of it is stored', async () => {
    // Node goes on parsing what a pipelining client sent after our `connection: close`; those
    // requests could never be answered, and were stored all the same (the client sends them again).
    // The harness's short deadlines, for the 408 case.
    const quick = await startServer(SHORT_DEADLINES);
    try {
      const late = 'GET /v1/topics/late?data=2 HTTP/1.1\r\nHost: x\r\n\r\n';
      const cases = [
        // Too slow: the rest of the request comes after the 408, and another one with it.
        ['408', quick, 'GET /v1/topics/late?data=1 HTTP/1.1\r\n', `Host: x\r\n\r\n${late}`],
        // Too large: refused before its body, which follows, and another request after it.
        ['413', h, `POST /v1/topics/late HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`, `${'a'.repeat(MAX_BODY + 1)}${late}`],
      ] as const;
      for (const [status, server, head, rest] of cases) {
        const client = await openClient(server.port);
        client.socket.write(head);
        await until(() => client.count(Number(status)) === 1, `the ${status} answer`);
        client.socket.write(rest);
        await closedByServer(client.socket);
        expect(statusesOf(client.text())).toEqual([status]);
        client.socket.destroy();
      }
      expect([...h.target.calls, ...quick.target.calls]).toEqual([]);
    } finally {
      await quick.close();
    }
  });

  it('answers a request Node cannot parse after the requests pipelined before it, in order', async () => {
    // After `Connection: close` the client may send nothing more: the connection ends with the 202.
    const cases = [
      ['garbage', 'FOO BAR\r\n\r\n', ['202', '400']],
      ['a request after `Connection: close`', 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', ['202']],
    ] as const;
    for (const [what, after, statuses] of cases) {
      const held = gate();
      h.target.reset();
      h.target.hold = held.promise;
      const before = h.refusals.snapshot().find((refusal) => refusal.code === 'BAD_REQUEST')?.count ?? 0;
      const client = await openClient(h.port);
      const close = what === 'garbage' ? '' : 'Connection: close\r\n';
      client.socket.write(`GET /v1/topics/first?data=1 HTTP/1.1\r\nHost: x\r\n${close}\r\n${after}`);
      await until(() => h.target.calls.length === 1, 'the first request is waiting for the target');
      await until(() => (h.refusals.snapshot().find((refusal) => refusal.code === 'BAD_REQUEST')?.count ?? 0) === before + 1, `the ${what} was refused`);
      held.open();
      await closedByServer(client.socket);
      // Written at once, the 400 took the place of the 202: the client read it as the first one's answer.
      expect({ what, statuses: statusesOf(client.text()) }).toEqual({ what, statuses });
      client.socket.destroy();
    }
  });
});
