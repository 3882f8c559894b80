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
import { closedByServer, openClient } from '../raw-http';
import { busyConnections, expectLongestIdleGivesWay, expectPipeliningBounded, finishBusy, type Harness, jsonOf, sendTo, startServer, until } from './ingest-harness';

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


describe('an HTTPS listener, held to the bounds of a plain one', () => {
  it('past http.maxConnections, the longest idle TLS connection gives way to a new one', async () => {
    const few = await startServer({ maxConnections: 3 }, undefined, {}, { configure: tls });
    try {
      expect(few.url).toMatch(/^https:/);
      await expectLongestIdleGivesWay(few, 3, () => httpsGet(few, '/health'), trust());
    } finally {
      await few.close();
    }
  });

  it('past http.maxConnections with none idle, a TLS connection is closed before its handshake and counted 503', async () => {
    const few = await startServer({ maxConnections: 3 }, undefined, {}, { configure: tls });
    try {
      const busy = await busyConnections(few.port, 3, trust());
      await until(() => ingestLoad(few.server).requestsInFlight === 3, 'three requests are in progress');
      expect(await handshake(few.port)).toBe(false);
      await until(() => ingestLoad(few.server).connections === 3, 'the refused connection is closed');
      // Counted once, as the refusal it is, not also as a failed handshake.
      expect(few.refusals.snapshot()).toEqual([{ status: 503, code: 'TOO_MANY_CONNECTIONS', count: 1 }]);
      expect(await finishBusy(busy)).toEqual(Array(3).fill('HTTP/1.1 202'));
      for (const socket of busy) socket.destroy();
      await until(() => ingestLoad(few.server).connections === 0, 'the busy connections closed');
      expect(await httpsGet(few, '/health')).toBe(200);
    } finally {
      await few.close();
    }
  });

  it('stops reading a TLS connection while maxPipelinedRequests of its requests are unanswered, and refuses none of them', async () => {
    // Node's https server alone fails such a client with 400 HPE_PAUSED once its answers back up
    // (keepTlsParserRunning in connections.ts).
    const piped = await startServer({ maxPipelinedRequests: 8 }, undefined, {}, { configure: tls });
    try {
      await expectPipeliningBounded(piped, 8, () => httpsGet(piped, '/health'), trust());
    } finally {
      await piped.close();
    }
  });
});

describe('the operations listener', () => {
  it('has a connection limit of its own: a full ingest does not lock the scraper out, and a flood of it is refused there', async () => {
    const ingest = await startServer({ maxConnections: 2 }, undefined, {}, { role: 'events' });
    const ops = await startServer({}, { stats: () => ({ ok: true }), metrics: () => '' }, {}, { role: 'ops' });
    const sockets: Socket[] = [];
    try {
      sockets.push(...(await busyConnections(ingest.port, 2)));
      await until(() => ingestLoad(ingest.server).requestsInFlight === 2, 'the ingest is full');
      expect((await sendTo(ops.url, '/stats')).body).toEqual({ ok: true });
      expect((await sendTo(ops.url, '/v1/topics/t?data=1')).status).toBe(404);
      expect((await sendTo(ingest.url, '/stats')).status).toBe(503);

      // Mid-request (headers on their way), so that none of them is idle once the server has read them.
      const flood: Socket[] = [];
      for (let i = 0; i < OPS_MAX_CONNECTIONS; i++) {
        const { socket } = await openClient(ops.port);
        socket.write('GET /stats HTTP/1.1\r\n');
        flood.push(socket);
      }
      sockets.push(...flood);
      await until(() => flood.every((socket) => ops.hasRead(socket)), 'the ops listener read the start of a request on each connection');
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
