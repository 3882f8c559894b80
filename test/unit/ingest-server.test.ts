// The HTTP ingest as a client sees it (ingest-harness.ts: a real server, real HTTP requests, a
// recording target): every content type, the event parameters, both original Sparkngin routes,
// health and readiness, and every error case of the contract. Hostile input and resource bounds are
// in ingest-hostile.test.ts.
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestError, SinkError, SpoolClosedError, SpoolFullError } from '../../src/errors';
import { ingestLoad } from '../../src/ingest/server';
import { type Answer, HEADERS_TIMEOUT_MS, jsonOf, MAX_BODY, NOW, raw, SHORT_DEADLINES, sendTo, serverPerFile, startServer } from './ingest-harness';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const h = serverPerFile();

const send = (path: string, init: RequestInit = {}): Promise<Answer> => sendTo(h.url, path, init);

const post = (path: string, contentType: string | undefined, body: string | Buffer, headers: Record<string, string> = {}) =>
  send(path, { method: 'POST', headers: contentType === undefined ? headers : { 'content-type': contentType, ...headers }, body });

describe('POST /v1/topics/{topic}', () => {
  it('takes one JSON event and answers 202 with its id once the target accepted it', async () => {
    const answer = await post('/v1/topics/orders', 'application/json', '{"order":1,"total":9.90}');
    expect(answer.status).toBe(202);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.body).toEqual({ accepted: 1, ids: [expect.stringMatching(UUID_V7)] });
    expect(h.target.calls).toHaveLength(1);
    const [event] = h.target.events;
    expect(event).toEqual({
      id: answer.body.ids[0],
      topic: 'orders',
      key: undefined,
      ts: NOW,
      sts: undefined,
      ip: '127.0.0.1',
      host: 'ingest-test',
      headers: {},
      type: 'json',
      data: Buffer.from('{"order":1,"total":9.90}'),
    });
    expect(h.target.calls[0]!.ack).toBe('spool');
    // The id carries the receive time (UUIDv7: the first 48 bits are ms since the epoch).
    expect(parseInt(event!.id.replace(/-/g, '').slice(0, 12), 16)).toBe(NOW);
  });

  it('takes a JSON array as one event per element, each element as sent', async () => {
    const answer = await post('/v1/topics/array', 'application/json; charset=utf-8', '[{"a":1}, "two", 3, null, 12345678901234567890]');
    expect(answer.body.accepted).toBe(5);
    expect(answer.body.ids).toHaveLength(5);
    expect(new Set(answer.body.ids).size).toBe(5);
    expect(h.target.events.map((event) => event.id)).toEqual(answer.body.ids);
    expect(h.target.events.map((event) => [event.type, event.data.toString()])).toEqual([
      ['json', '{"a":1}'],
      ['json', '"two"'],
      ['json', '3'],
      ['json', 'null'],
      ['json', '12345678901234567890'],
    ]);
    expect(h.target.calls).toHaveLength(1);
  });

  it('takes NDJSON and JSON Lines one event per non-empty line, non-ASCII byte for byte', async () => {
    const lines = ['{"name":"Zoë"}', '{"city":"東京"}', '[1,2]'];
    const answer = await post('/v1/topics/ndjson', 'application/x-ndjson', `${lines[0]}\r\n\n${lines[1]}\n${lines[2]}\n`);
    expect(answer.body.accepted).toBe(3);
    expect(h.target.events.map((event) => event.data)).toEqual(lines.map((line) => Buffer.from(line, 'utf8')));
    expect((await post('/v1/topics/ndjson', 'application/jsonl; charset=UTF-8', '{"a":1}\n{"b":2}')).body.accepted).toBe(2);
  });

  it('takes text one event per non-empty line, and an octet-stream as one binary event', async () => {
    expect((await post('/v1/topics/text', 'text/plain; charset=utf-8', 'alpha\r\n\r\nbeta\ngamma\n')).body.accepted).toBe(3);
    expect(h.target.events.map((event) => [event.type, event.data.toString()])).toEqual([
      ['text', 'alpha'],
      ['text', 'beta'],
      ['text', 'gamma'],
    ]);
    const bytes = Buffer.from([0, 1, 2, 10, 13, 250, 255]);
    expect((await post('/v1/topics/bin', 'application/octet-stream', bytes)).body.accepted).toBe(1);
    expect(h.target.events[3]).toMatchObject({ topic: 'bin', type: 'binary', data: bytes });
  });

  it('takes the key, client time and ack mode from the query or X-Sparkngin-* headers, and event headers', async () => {
    const viaQuery = await post('/v1/topics/meta?key=user-7&sts=1699999999000&ack=sink', 'application/json', '{"m":1}', { 'x-sparkngin-key': 'ignored' });
    expect(viaQuery.status).toBe(202);
    expect(h.target.calls[0]!.ack).toBe('sink');
    expect(h.target.events[0]).toMatchObject({ key: 'user-7', sts: 1699999999000, headers: {} });

    const viaHeaders = await post('/v1/topics/meta', 'application/json', '{"m":2}', {
      'X-Sparkngin-Key': 'k 9',
      'X-Sparkngin-Time': '1700000000999',
      'X-Sparkngin-Ack': 'sink',
      'X-Sparkngin-Header-Trace-Id': 'abc',
      'x-sparkngin-header-SOURCE': 'web',
    });
    expect(viaHeaders.status).toBe(202);
    expect(h.target.calls[1]!.ack).toBe('sink');
    expect(h.target.events[1]).toMatchObject({ key: 'k 9', sts: 1700000000999, headers: { 'trace-id': 'abc', source: 'web' } });
  });

  it('reads UTF-8 sent in header values as UTF-8', async () => {
    // Raw bytes, as curl sends them (Node's and undici's clients refuse non-Latin-1 header values).
    const head = Buffer.from(
      'POST /v1/topics/utf8 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n' +
        'X-Sparkngin-Key: clé\r\nX-Sparkngin-Header-City: 東京\r\nConnection: close\r\n\r\nhello',
      'utf8',
    );
    const { text } = await raw(h.port, head);
    expect(text).toMatch(/^HTTP\/1\.1 202 /);
    expect(h.target.events[0]).toMatchObject({ key: 'clé', headers: { city: '東京' }, data: Buffer.from('hello') });
  });

  it('refuses a bad key, client time or ack mode before reading the body', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['?key=', {}, 'INVALID_KEY'],
      [`?key=${'k'.repeat(4097)}`, {}, 'INVALID_KEY'],
      ['', { 'x-sparkngin-key': '' }, 'INVALID_KEY'],
      ['?sts=yesterday', {}, 'INVALID_TIME'],
      ['?sts=-1', {}, 'INVALID_TIME'],
      ['?sts=1.5', {}, 'INVALID_TIME'],
      ['?sts=', {}, 'INVALID_TIME'],
      ['', { 'x-sparkngin-time': '1e12' }, 'INVALID_TIME'],
      ['?ack=maybe', {}, 'INVALID_ACK'],
      ['?ack=', {}, 'INVALID_ACK'],
      ['', { 'x-sparkngin-ack': 'all' }, 'INVALID_ACK'],
    ];
    for (const [query, headers, code] of cases) {
      const answer = await post(`/v1/topics/t${query}`, 'application/json', '{}', headers);
      expect({ query, headers, status: answer.status, code: answer.body.error.code }).toEqual({ query, headers, status: 400, code });
      expect(answer.body.error.message.length).toBeGreaterThan(10);
    }
    expect(h.target.calls).toHaveLength(0);
  });

  it('keeps connections alive across requests, errors included', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = h.connections();
    const call = (path: string, body: string) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
        const req = httpRequest(`${h.url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } });
        req.on('response', (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 5; i++) {
      const answer = await call('/v1/topics/keepalive', `{"i":${i}}`);
      expect(answer.status).toBe(202);
      expect(answer.headers.connection).toBe('keep-alive');
    }
    expect((await call('/v1/topics/bad%20name', '{}')).status).toBe(400);
    expect((await call('/v1/topics/keepalive', '{"after":"error"}')).status).toBe(202);
    expect(h.connections() - before).toBe(1);
    agent.destroy();
  });

  it('honours Expect: 100-continue, and refuses before the body when it can', async () => {
    const exchange = (contentType: string) =>
      new Promise<{ status: number; continued: boolean; connection: string | undefined }>((resolve, reject) => {
        let continued = false;
        const req = httpRequest(`${h.url}/v1/topics/continue`, { method: 'POST', headers: { 'content-type': contentType, expect: '100-continue', 'content-length': '7' } });
        req.on('continue', () => {
          continued = true;
          req.end('{"c":1}');
        });
        req.on('response', (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0, continued, connection: response.headers.connection });
        });
        req.on('error', reject);
      });
    expect(await exchange('application/json')).toEqual({ status: 202, continued: true, connection: 'keep-alive' });
    expect(h.target.events[0]!.data.toString()).toBe('{"c":1}');
    // Refused without asking for the body; the connection closes since the body was never sent.
    expect(await exchange('application/xml')).toEqual({ status: 415, continued: false, connection: 'close' });
  });

  it('answers any other expectation with a JSON 417 and stores nothing', async () => {
    // fetch refuses to send Expect, so node:http does.
    const post = (expectation: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${h.url}/v1/topics/expect`, { method: 'POST', headers: { 'content-type': 'application/json', expect: expectation } });
        req.on('response', (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end('{}');
      });
    for (const expectation of ['foo', '']) {
      const answer = await post(expectation);
      expect(answer.status).toBe(417);
      expect(JSON.parse(answer.body).error.code).toBe('EXPECTATION_FAILED');
    }
    expect(h.target.events).toHaveLength(0);
  });
});

describe('GET /v1/topics/{topic} (beacon)', () => {
  it('takes data= as one event: JSON when it parses, text otherwise; never cached', async () => {
    const json = await send(`/v1/topics/beacon?data=${encodeURIComponent('{"v":1}')}&key=b1`);
    expect(json.status).toBe(202);
    expect(json.headers.get('cache-control')).toBe('no-store');
    expect(json.body).toEqual({ accepted: 1, ids: [h.target.events[0]!.id] });
    const text = await send('/v1/topics/beacon?data=plain%20words&sts=1700000000000');
    expect(text.status).toBe(202);
    expect(h.target.events.map((event) => [event.type, event.data.toString(), event.key, event.sts])).toEqual([
      ['json', '{"v":1}', 'b1', undefined],
      ['text', 'plain words', undefined, 1700000000000],
    ]);
  });

  it('needs data=', async () => {
    const answer = await send('/v1/topics/beacon?key=x');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('MISSING_DATA');
  });
});

describe('the original Sparkngin /message/json', () => {
  const message = (key: string | null, data: string, serializeType: string | null = 'json') => ({
    header: { version: 0.0, topic: 'legacy', key, traceEnable: false, instructionEnable: false },
    data: { type: 'com.acme.Click', data: Buffer.from(data).toString('base64'), serializeType },
    traces: [],
  });

  it('takes the Message as a POST body and answers its Ack', async () => {
    const answer = await send('/message/json', { method: 'POST', body: JSON.stringify(message('message-1', '{"old": true}')) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ messageId: 'message-1', status: 'OK', message: null });
    expect(h.target.events[0]).toMatchObject({
      topic: 'legacy',
      key: 'message-1',
      type: 'json',
      data: Buffer.from('{"old": true}'),
      ip: '127.0.0.1',
      host: 'ingest-test',
      ts: NOW,
      headers: { 'nw-data-type': 'com.acme.Click' },
    });
  });

  it('takes the Message URL-encoded in GET ?data=, and answers the event id when it has no key', async () => {
    const got = await send(`/message/json?data=${encodeURIComponent(JSON.stringify(message('message-2', 'raw text', 'binary')))}`);
    expect(got.body).toEqual({ messageId: 'message-2', status: 'OK', message: null });
    expect(h.target.events[0]).toMatchObject({ key: 'message-2', type: 'binary', data: Buffer.from('raw text') });
    const keyless = await send('/message/json', { method: 'POST', body: JSON.stringify(message(null, '[1]')) });
    expect(keyless.body).toEqual({ messageId: h.target.events[1]!.id, status: 'OK', message: null });
    expect(h.target.events[1]!.key).toBeUndefined();
  });

  it('keeps data with non-JSON white space around JSON as binary, byte for byte', async () => {
    const data = Buffer.from([0xc2, 0xa0, 0x7b, 0x7d]); // U+00A0 then {}
    const posted = { header: { topic: 'legacy', key: 'nbsp' }, data: { data: data.toString('base64'), serializeType: 'json' } };
    expect((await send('/message/json', { method: 'POST', body: JSON.stringify(posted) })).status).toBe(200);
    expect(h.target.events[0]).toMatchObject({ type: 'binary', data });
  });

  it('answers failures in the Ack shape with status ERROR and a matching HTTP status', async () => {
    const bad = await send('/message/json', { method: 'POST', body: '{"header":{}}' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ messageId: null, status: 'ERROR', message: expect.stringContaining('topic') });
    expect((await send('/message/json', { method: 'POST', body: '{"header":' })).body).toMatchObject({ status: 'ERROR' });
    expect((await send('/message/json')).status).toBe(400);
    const tooLarge = await send('/message/json', { method: 'POST', body: JSON.stringify(message('big', 'x'.repeat(MAX_BODY))) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ messageId: null, status: 'ERROR' });
    const wrongMethod = await send('/message/json', { method: 'PUT', body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST, GET');
    expect(wrongMethod.body.status).toBe('ERROR');

    h.target.failure = new SpoolFullError(4);
    const full = await send('/message/json', { method: 'POST', body: JSON.stringify(message('m', '{}')) });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('4');
    expect(full.body).toMatchObject({ messageId: null, status: 'ERROR', message: expect.stringMatching(/full/) });
  });
});

describe('health and readiness', () => {
  it('answers /health while alive and /ready per the target', async () => {
    expect(await send('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await send('/health', { method: 'HEAD' })).status).toBe(200);
    expect(await send('/ready')).toMatchObject({ status: 200, body: { status: 'ready' } });
    h.target.reasons = ['spool full', 'shutting down'];
    expect(await send('/ready')).toMatchObject({ status: 503, body: { status: 'not ready', reasons: ['spool full', 'shutting down'] } });
  });

  it('serves /stats and /metrics only when the daemon gives them', async () => {
    expect((await send('/stats')).status).toBe(404);
    const withOps = await startServer({}, { stats: () => ({ spool: { records: 3 } }), metrics: () => 'sparkngin_up 1\n' });
    try {
      expect(await (await fetch(`${withOps.url}/stats`)).json()).toEqual({ spool: { records: 3 } });
      const metrics = await fetch(`${withOps.url}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await metrics.text()).toBe('sparkngin_up 1\n');
    } finally {
      await withOps.close();
    }
  });
});

describe('errors', () => {
  /** Every error is `{"error":{"code","message"}}` as JSON. */
  const expectError = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(typeof answer.body.error.message).toBe('string');
  };

  it('malformed JSON and bad NDJSON lines: 400, naming the line', async () => {
    expectError(await post('/v1/topics/t', 'application/json', '{"user": 4'), 400, 'MALFORMED_JSON');
    const ndjson = await post('/v1/topics/t', 'application/x-ndjson', '{"a":1}\n{"b":2}\n{oops}\n');
    expectError(ndjson, 400, 'MALFORMED_JSON');
    expect(ndjson.body.error.message).toMatch(/^line 3 /);
    expect(h.target.calls).toHaveLength(0);
  });

  it('an empty body: 400', async () => {
    expectError(await post('/v1/topics/t', 'application/json', ''), 400, 'EMPTY_BODY');
    expectError(await post('/v1/topics/t', 'text/plain', '\n\n'), 400, 'EMPTY_BODY');
    expectError(await post('/v1/topics/t', 'application/octet-stream', ''), 400, 'EMPTY_BODY');
  });

  it('a missing or unsupported content type: 415 listing the supported ones', async () => {
    const xml = await post('/v1/topics/t', 'application/xml', '<a/>');
    expectError(xml, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(xml.body.error.message).toMatch(/application\/json.*application\/x-ndjson.*text\/plain.*application\/octet-stream/);
    expectError(await post('/v1/topics/t', undefined, Buffer.from('{}')), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('an invalid topic: 400', async () => {
    for (const topic of ['bad%20topic!', 't'.repeat(250), 'a%2Fb', 'caf%C3%A9']) {
      expectError(await post(`/v1/topics/${topic}`, 'application/json', '{}'), 400, 'INVALID_TOPIC');
    }
    // Paths fetch() would normalise away, sent as they are.
    for (const topic of ['', '.', '..', '%2E', 'a/b']) {
      const { text } = await raw(h.port, `POST /v1/topics/${topic} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      expect({ topic, status: text.slice(9, 12), code: jsonOf(text).error.code }).toEqual({ topic, status: '400', code: 'INVALID_TOPIC' });
    }
    expect((await post(`/v1/topics/${'t'.repeat(249)}`, 'application/json', '{}')).status).toBe(202);
    expect(h.target.calls).toHaveLength(1);
  });

  it('an unknown route: 404; a wrong method: 405 with Allow', async () => {
    expectError(await send('/v2/whatever'), 404, 'NOT_FOUND');
    expectError(await send('/health/'), 404, 'NOT_FOUND');
    const del = await send('/v1/topics/t', { method: 'DELETE' });
    expectError(del, 405, 'METHOD_NOT_ALLOWED');
    expect(del.headers.get('allow')).toBe('POST, GET');
    expect((await send('/health', { method: 'POST', body: '{}' })).headers.get('allow')).toBe('GET, HEAD');
  });

  it('a body over the limit announced by Content-Length: 413 before a byte is read, then closed', async () => {
    const head = `POST /v1/topics/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`;
    const { text } = await raw(h.port, head);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(jsonOf(text).error.code).toBe('BODY_TOO_LARGE');
    // And as a client library sends it: the whole body on its way.
    expectError(await post('/v1/topics/big', 'application/json', JSON.stringify({ pad: 'x'.repeat(MAX_BODY) })), 413, 'BODY_TOO_LARGE');
    expect(h.target.calls).toHaveLength(0);
  });

  it('a chunked body that grows over the limit: 413, the connection closed', async () => {
    const answer = await new Promise<{ status: number; connection: string | undefined; body: any }>((resolve, reject) => {
      const req = httpRequest(`${h.url}/v1/topics/big`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
      req.on('response', (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(answer).toMatchObject({ status: 413, connection: 'close', body: { error: { code: 'BODY_TOO_LARGE' } } });
    expect(h.target.calls).toHaveLength(0);
  });

  it('bodies in flight past http.maxBufferedBytes: 503 with Retry-After and closed; room again once answered', async () => {
    const tight = await startServer({ maxBufferedBytes: 100 * 1024 });
    try {
      const event = JSON.stringify({ pad: 'x'.repeat(60 * 1024) });
      const head = `POST /v1/topics/held HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${event.length}\r\nconnection: close\r\n\r\n`;
      // The first body arrives in two parts, 1.5 s apart: it holds its 60 KiB meanwhile (waited for:
      // a fixed sleep let the first request finish first on a loaded machine).
      const first = raw(tight.port, head + event.slice(0, 1000), { rest: event.slice(1000), pauseMs: 1_500 });
      while (ingestLoad(tight.server).bufferedBytes < event.length) await new Promise((resolve) => setTimeout(resolve, 10));
      const refused = await fetch(`${tight.url}/v1/topics/held`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: event });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('connection')).toBe('close');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('INGEST_BUSY');
      const chunkedHead = 'POST /v1/topics/held HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
      const chunked = await raw(tight.port, `${chunkedHead}${event.length.toString(16)}\r\n${event}\r\n0\r\n\r\n`);
      expect(chunked.text).toMatch(/^HTTP\/1\.1 503 [^]*connection: close[^]*"INGEST_BUSY"/i);
      expect((await first).text).toMatch(/^HTTP\/1\.1 202 /);
      const later = await fetch(`${tight.url}/v1/topics/held`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: event });
      expect(later.status).toBe(202);
      expect(tight.target.events).toHaveLength(2);
    } finally {
      await tight.close();
    }
  });

  it('a client sending its body too slowly: 408 within bodyTimeoutMs and closed, while others are served', async () => {
    // A deadline long enough that the other request is surely served before it, even on a loaded machine.
    const bodyTimeoutMs = 3_000;
    const quick = await startServer({ ...SHORT_DEADLINES, bodyTimeoutMs });
    try {
      const head = 'POST /v1/topics/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":';
      let slowAnswered = false;
      const slow = raw(quick.port, head, { rest: '1', pauseMs: 100 }).finally(() => (slowAnswered = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const other = await fetch(`${quick.url}/v1/topics/fast`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
      expect(other.status).toBe(202);
      expect(slowAnswered, 'the other request was answered while the slow one waited').toBe(false);
      const { text, ms } = await slow;
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
      expect(jsonOf(text).error.code).toBe('BODY_TIMEOUT');
      expect(ms).toBeGreaterThanOrEqual(bodyTimeoutMs - 50);
      expect(quick.target.events.map((event) => event.topic)).toEqual(['fast']);
    } finally {
      await quick.close();
    }
  });

  it('headers too slow or too large: a JSON 408 or 431, and closed', async () => {
    const quick = await startServer(SHORT_DEADLINES);
    try {
      const slow = await raw(quick.port, 'POST /v1/topics/t HTTP/1.1\r\nHost: x\r\n');
      expect(slow.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(jsonOf(slow.text).error.code).toBe('REQUEST_TIMEOUT');
      expect(slow.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    } finally {
      await quick.close();
    }
    const { text } = await raw(h.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(jsonOf(text).error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('malformed HTTP: a JSON 400 and closed', async () => {
    const { text } = await raw(h.port, 'GARBAGE\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(jsonOf(text).error.code).toBe('BAD_REQUEST');
  });

  it('counts every refusal by status and code, those Node\'s parser raises too', async () => {
    const count = (code: string) => h.refusals.snapshot().find((entry) => entry.code === code)?.count ?? 0;
    const [garbage, notFound] = [count('BAD_REQUEST'), count('NOT_FOUND')];
    await raw(h.port, 'GARBAGE\r\n\r\n');
    await send('/nowhere');
    await send('/nowhere');
    expect(count('BAD_REQUEST')).toBe(garbage + 1);
    expect(count('NOT_FOUND')).toBe(notFound + 2);
    expect(h.refusals.snapshot()).toContainEqual({ status: 404, code: 'NOT_FOUND', count: notFound + 2 });
  });

  it('a full spool: 503 with Retry-After', async () => {
    h.target.failure = new SpoolFullError(7);
    const answer = await post('/v1/topics/t', 'application/json', '{}');
    expectError(answer, 503, 'SPOOL_FULL');
    expect(answer.headers.get('retry-after')).toBe('7');
  });

  it('a closed spool: 503 with Retry-After', async () => {
    h.target.failure = new SpoolClosedError();
    const answer = await post('/v1/topics/t', 'application/json', '{}');
    expectError(answer, 503, 'SPOOL_CLOSED');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a sink that refused (ack=sink): 502, without the sink’s internals', async () => {
    h.target.failure = new SinkError('kafka', 'broker 10.1.2.3:9092 answered MESSAGE_TOO_LARGE', { retriable: false });
    const answer = await post('/v1/topics/t?ack=sink', 'application/json', '{}');
    expectError(answer, 502, 'SINK_FAILED');
    expect(answer.body.error.message).toContain('kafka');
    expect(answer.body.error.message).not.toContain('10.1.2.3');
  });

  it('the target’s own request errors pass through (504 from ack=sink)', async () => {
    h.target.failure = new RequestError(504, 'SINK_ACK_TIMEOUT', 'not every sink accepted them in time');
    expectError(await post('/v1/topics/t?ack=sink', 'application/json', '{}'), 504, 'SINK_ACK_TIMEOUT');
  });

  it('anything else: 500, logged, and the message tells nothing of the inside', async () => {
    h.target.failure = new Error("EACCES: permission denied, open '/var/lib/sparkngin/spool/secret.seg'");
    const answer = await post('/v1/topics/t', 'application/json', '{}');
    expectError(answer, 500, 'INTERNAL');
    expect(answer.body.error.message).not.toMatch(/EACCES|secret|\/var/);
    expect(h.logs.some((line) => line.includes('"ingest.internal_error"') && line.includes('secret.seg'))).toBe(true);
    expect((await send('/health')).status).toBe(200);
  });
});

describe('client address behind a proxy', () => {
  afterEach(() => undefined);

  it('ignores X-Forwarded-For unless http.trustProxy is set', async () => {
    await post('/v1/topics/ip', 'application/json', '{}', { 'x-forwarded-for': '203.0.113.7' });
    expect(h.target.events[0]!.ip).toBe('127.0.0.1');
  });

  it('takes the first X-Forwarded-For entry when the proxy is trusted', async () => {
    const proxied = await startServer({ trustProxy: true });
    try {
      const ipFor = async (forwarded: string | undefined) => {
        proxied.target.calls = [];
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (forwarded !== undefined) headers['x-forwarded-for'] = forwarded;
        expect((await fetch(`${proxied.url}/v1/topics/ip`, { method: 'POST', headers, body: '{}' })).status).toBe(202);
        return proxied.target.events[0]!.ip;
      };
      expect(await ipFor('203.0.113.7, 10.0.0.1')).toBe('203.0.113.7');
      expect(await ipFor('[2001:db8::1]:443')).toBe('2001:db8::1');
      expect(await ipFor('198.51.100.2:5000')).toBe('198.51.100.2');
      expect(await ipFor('not an address')).toBe('127.0.0.1');
      expect(await ipFor(undefined)).toBe('127.0.0.1');
    } finally {
      await proxied.close();
    }
  });
});
