// Where the ingest's bounds (connections.ts) meet its security (access.ts, tls.ts), on real servers
// and real clients (ingest-harness.ts), with a CA made by openssl for the HTTPS cases:
//  - an HTTPS listener is held to the same bounds as a plain one (both are made by one factory):
//    idle connections give way, busy ones past the limit are refused (before the handshake), and a
//    pipelining client is not read past http.maxPipelinedRequests;
//  - the operations listener has a connection limit of its own: a full ingest does not lock out the
//    scraper, and a flood of the ops port is refused there;
//  - the tracking pixel is a route that takes events like the others: with auth on it answers only
//    when its topic is open, and it never captures a header that carries a credential.
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/defaults';
import { tokenSha256 } from '../../src/ingest/auth';
import { OPS_MAX_CONNECTIONS } from '../../src/ingest/connections';
import { ingestLoad } from '../../src/ingest/server';
import { makeTestCa, type TestCa } from '../peers/test-ca';
import { closedByServer, openClient, pipeline } from '../raw-http';
import { type Harness, jsonOf, sendTo, settled, startServer, until } from './ingest-harness';

let dir: string;
let ca: TestCa;
let tls: (config: Config) => void;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-listeners-'));
  ca = await makeTestCa(dir);
  const server = await ca.issue('server');
  tls = (config) => Object.assign(config.tls, { cert: server.cert, key: server.key });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const trust = () => ({ ca: ca.certPem });

/** GET over HTTPS on a connection of its own. */
function httpsGet(harness: Harness, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${harness.url}${path}`, { ...trust(), agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with whether the TLS handshake completed (false: the server closed the connection first). */
function handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTls({ port, host: '127.0.0.1', ...trust() }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

const beacon = 'GET /v1/topics/piped?data=1 HTTP/1.1\r\nHost: x\r\n\r\n';
const perRead = Math.ceil((64 * 1024) / beacon.length);

describe('an HTTPS listener, held to the bounds of a plain one', () => {
  it('past http.maxConnections, the longest idle TLS connection gives way to a new one', async () => {
    const few = await startServer({ maxConnections: 3, headersTimeoutMs: 10_000 }, undefined, {}, { configure: tls });
    try {
      expect(few.url).toMatch(/^https:/);
      const idle: Socket[] = [];
      for (let i = 0; i < 3; i++) {
        const { socket } = await openClient(few.port, trust());
        const answered = new Promise((resolve) => socket.once('data', resolve));
        socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        await answered;
        idle.push(socket);
      }
      expect(ingestLoad(few.server).connections).toBe(3);
      expect(await httpsGet(few, '/health')).toBe(200);
      await closedByServer(idle[0]!);
      expect(idle.slice(1).every((socket) => !socket.destroyed)).toBe(true);
      for (const socket of idle) socket.destroy();
    } finally {
      await few.close();
    }
  });

  it('past http.maxConnections with none idle, a TLS connection is closed before its handshake and counted 503', async () => {
    const few = await startServer({ maxConnections: 3, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000 }, undefined, {}, { configure: tls });
    try {
      const busy: Socket[] = [];
      for (let i = 0; i < 3; i++) {
        const { socket } = await openClient(few.port, trust());
        socket.write('POST /v1/topics/busy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
        busy.push(socket);
      }
      await until(() => ingestLoad(few.server).requestsInFlight === 3, 'three requests are in progress');
      expect(await handshake(few.port)).toBe(false);
      await until(() => ingestLoad(few.server).connections === 3, 'the refused connection is closed');
      // Counted once, as the refusal it is, not also as a failed handshake.
      expect(few.refusals.snapshot()).toEqual([{ status: 503, code: 'TOO_MANY_CONNECTIONS', count: 1 }]);
      const answered = busy.map((socket) => new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString().slice(0, 12)))));
      for (const socket of busy) socket.write('}');
      expect(await Promise.all(answered)).toEqual(Array(3).fill('HTTP/1.1 202'));
      for (const socket of busy) socket.destroy();
      await until(() => ingestLoad(few.server).connections === 0, 'the busy connections closed');
      expect(await httpsGet(few, '/health')).toBe(200);
    } finally {
      await few.close();
    }
  });

  it('stops reading a TLS connection while maxPipelinedRequests of its requests are unanswered', async () => {
    const piped = await startServer({ maxPipelinedRequests: 8 }, undefined, {}, { configure: tls });
    try {
      let open!: () => void;
      piped.target.hold = new Promise<void>((resolve) => (open = resolve));
      const client = await openClient(piped.port, trust());
      const total = 5_000;
      pipeline(client.socket, beacon, total);
      const taken = await settled(() => piped.target.calls.length, 'the server stopped taking requests');
      expect(taken).toBeGreaterThanOrEqual(8);
      // What one read of the socket held (64 KiB) can be in Node's parser when the limit is
      // reached, as on a plain connection; those are answered, and nothing more is read.
      expect(taken).toBeLessThanOrEqual(8 + perRead);
      expect(ingestLoad(piped.server).requestsInFlight).toBe(taken);
      expect(await httpsGet(piped, '/health')).toBe(200);
      open();
      piped.target.hold = undefined;
      await until(() => client.count(202) === total, `all ${total} requests were answered`);
      expect(piped.target.calls).toHaveLength(total);
      // None refused: Node's https server alone fails such a client with 400 HPE_PAUSED once its
      // answers back up (keepTlsParserRunning in connections.ts).
      expect(piped.refusals.snapshot()).toEqual([]);
      client.socket.destroy();
    } finally {
      await piped.close();
    }
  });
});

describe('the operations listener', () => {
  it('has a connection limit of its own: a full ingest does not lock the scraper out, and a flood of it is refused there', async () => {
    const ingest = await startServer({ maxConnections: 2, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000 }, undefined, {}, { role: 'events' });
    const ops = await startServer({ headersTimeoutMs: 10_000 }, { stats: () => ({ ok: true }), metrics: () => '' }, {}, { role: 'ops' });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const { socket } = await openClient(ingest.port);
        socket.write('POST /v1/topics/busy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
        sockets.push(socket);
      }
      await until(() => ingestLoad(ingest.server).requestsInFlight === 2, 'the ingest is full');
      expect((await sendTo(ops.url, '/stats')).body).toEqual({ ok: true });
      expect((await sendTo(ops.url, '/v1/topics/t?data=1')).status).toBe(404);
      expect((await sendTo(ingest.url, '/stats')).status).toBe(503);

      // Mid-request (headers on their way), so that none of them is idle.
      for (let i = 0; i < OPS_MAX_CONNECTIONS; i++) {
        const { socket } = await openClient(ops.port);
        socket.write('GET /stats HTTP/1.1\r\n');
        sockets.push(socket);
      }
      await until(() => ingestLoad(ops.server).connections === OPS_MAX_CONNECTIONS, 'the ops listener is full');
      const refused = await openClient(ops.port);
      await closedByServer(refused.socket);
      expect(jsonOf(refused.text()).error).toEqual({
        code: 'TOO_MANY_CONNECTIONS',
        message: `more than ${OPS_MAX_CONNECTIONS} connections are open and none is idle (the operations listener's ${OPS_MAX_CONNECTIONS}); retry later`,
      });
      refused.socket.destroy();
      expect(ingest.refusals.snapshot()).toEqual([{ status: 503, code: 'TOO_MANY_CONNECTIONS', count: 1 }]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await ingest.close();
      await ops.close();
    }
  });
});

describe('the tracking pixel, with auth on', () => {
  const token = 'spk_test-token';
  const withAuth = (openTopics: string[]) => (config: Config) => {
    config.auth.tokens = [{ name: 'app', sha256: tokenSha256(token), topics: ['*'] }];
    config.auth.openTopics = openTopics;
  };

  it('answers 401 when its topic is not open (browsers send no credential), and says so at start', async () => {
    const closed = await startServer({}, undefined, { topic: 'visits' }, { configure: withAuth(['beacon.*']) });
    try {
      expect(closed.logs.some((line) => line.includes('"event":"tracker.needs_credential"') && line.includes('"topic":"visits"'))).toBe(true);
      const answer = await sendTo(closed.url, '/tracker/signup/example.com');
      expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(closed.target.calls).toHaveLength(0);
    } finally {
      await closed.close();
    }
  });

  it('answers 403 when its topic is not in http.topics, and says so at start', async () => {
    const outside = await startServer({ topics: ['app.*'] }, undefined, { topic: 'visits' });
    try {
      expect(outside.logs.some((line) => line.includes('"event":"tracker.needs_credential"'))).toBe(true);
      const answer = await sendTo(outside.url, '/tracker/signup/example.com');
      expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 403, code: 'TOPIC_NOT_ALLOWED' });
    } finally {
      await outside.close();
    }
  });

  it('records the visit when its topic is open, and never captures a credential header', async () => {
    // Past the config loader, which refuses these names (security.test.ts): the route drops them all the same.
    const open = await startServer({}, undefined, { topic: 'visits', headers: ['user-agent', 'Authorization', 'x-api-key', 'proxy-authorization'] }, { configure: withAuth(['visits']) });
    try {
      expect(open.logs.some((line) => line.includes('tracker.needs_credential'))).toBe(false);
      const headers = { 'user-agent': 'TestBrowser/1.0', authorization: `Bearer ${token}`, 'x-api-key': token, 'proxy-authorization': 'Basic eDp5' };
      const response = await fetch(`${open.url}/tracker/signup/example.com`, { headers });
      expect(response.status).toBe(200);
      const [event] = open.target.events;
      expect(JSON.parse(event!.data.toString()).headers).toEqual({ 'user-agent': 'TestBrowser/1.0' });
      expect(event!.data.toString()).not.toContain(token);
    } finally {
      await open.close();
    }
  });
});
