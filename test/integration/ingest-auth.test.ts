// Who may write what, as a client of the running daemon sees it: tokens made by `sparkngin token
// new` and sent as Bearer, X-API-Key or Basic; 401 (with WWW-Authenticate) without or with a bad
// one, 403 for a topic the token may not write or the server does not take, on every ingest route;
// open topics for browser beacons; per-client rate limits (429 + Retry-After) keyed by credential or
// address; the operations endpoints behind their own token or on their own listener, with no
// absolute path in what they send; secrets absent from logs and from `config show`.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../peers/ports';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

interface Made {
  token: string;
  grant: { name: string; sha256: string; topics: string[] };
}

/** A token from the real CLI: the token on the first line, the config record (YAML flow mapping) on the last. */
function makeToken(name: string, ...flags: string[]): Made {
  const out = execFileSync(process.execPath, [BUNDLE, 'token', 'new', '--name', name, ...flags], { encoding: 'utf8' });
  const lines = out.trim().split('\n');
  return { token: lines[0]!, grant: parse(lines.at(-1)!.trim().slice(2)) as Made['grant'] };
}

const web = makeToken('web', '--topics', 'web.*');
const all = makeToken('all');
const ops = makeToken('prometheus', '--ops');

async function post(url: string, path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const bearer = (made: Made) => ({ authorization: `Bearer ${made.token}` });
const legacyMessage = (topic: string) => JSON.stringify({ header: { topic, key: 'k1' }, data: { data: Buffer.from('{"legacy":true}').toString('base64') } });

describe('ingest authentication and topic permissions', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    daemon = await startDaemon({
      config: {
        log: { level: 'debug' },
        http: { topics: ['web.*', 'app.*', 'beacon.*', 'other'] },
        auth: { tokens: [web.grant, all.grant], openTopics: ['beacon.*'] },
        ops: { tokens: [{ name: ops.grant.name, sha256: ops.grant.sha256 }] },
      },
    });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  it('answers 401 with WWW-Authenticate without a credential, on every ingest route', async () => {
    const v1 = await post(daemon.url, '/v1/topics/web.clicks', '{"a":1}');
    expect(v1.status).toBe(401);
    expect(v1.body.error.code).toBe('UNAUTHORIZED');
    expect(v1.headers.get('www-authenticate')).toBe('Bearer realm="sparkngin"');
    const beacon = await fetch(`${daemon.url}/v1/topics/web.clicks?data=x`);
    expect(beacon.status).toBe(401);
    expect(beacon.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const legacyPost = await post(daemon.url, '/message/json', legacyMessage('web.legacy'));
    expect(legacyPost.status).toBe(401);
    expect(legacyPost.body).toMatchObject({ status: 'ERROR', messageId: null });
    const legacyGet = await fetch(`${daemon.url}/message/json?data=${encodeURIComponent(legacyMessage('web.legacy'))}`);
    expect(legacyGet.status).toBe(401);
  });

  it('answers 401 INVALID_CREDENTIAL to a wrong token, however it is sent', async () => {
    const wrong = `${web.token.slice(0, -2)}xx`;
    const ways: Array<Record<string, string>> = [{ authorization: `Bearer ${wrong}` }, { 'x-api-key': wrong }, { authorization: `Basic ${Buffer.from(`web:${wrong}`).toString('base64')}` }, { authorization: `Digest ${web.token}` }];
    for (const headers of ways) {
      const answer = await post(daemon.url, '/v1/topics/web.clicks', '{"a":1}', headers);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('INVALID_CREDENTIAL');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="sparkngin", error="invalid_token"');
    }
    // Even for an open topic: a client with a bad token is misconfigured and hears so.
    expect((await fetch(`${daemon.url}/v1/topics/beacon.page?data=x`, { headers: { 'x-api-key': wrong } })).status).toBe(401);
  });

  it('takes events with a token sent as Bearer, X-API-Key or Basic password, on every ingest route', async () => {
    expect((await post(daemon.url, '/v1/topics/web.clicks', '{"via":"bearer"}', bearer(web))).status).toBe(202);
    expect((await post(daemon.url, '/v1/topics/web.clicks', '{"via":"api-key"}', { 'x-api-key': web.token })).status).toBe(202);
    expect((await post(daemon.url, '/v1/topics/web.clicks', '{"via":"basic"}', { authorization: `Basic ${Buffer.from(`fluent-bit:${web.token}`).toString('base64')}` })).status).toBe(202);
    expect((await fetch(`${daemon.url}/v1/topics/web.clicks?data=${encodeURIComponent('{"via":"beacon"}')}`, { headers: bearer(web) })).status).toBe(202);
    const legacy = await post(daemon.url, '/message/json', legacyMessage('web.legacy'), bearer(web));
    expect(legacy.status).toBe(200);
    expect(legacy.body).toMatchObject({ status: 'OK', messageId: 'k1' });
    await waitForLines(join(daemon.dataDir, 'out', 'web.clicks.ndjson'), 4);
    const lines = (await readFile(join(daemon.dataDir, 'out', 'web.clicks.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).data.via);
    expect(lines.sort()).toEqual(['api-key', 'basic', 'beacon', 'bearer']);
  });

  it('answers 403 TOPIC_FORBIDDEN for a topic the token may not write, before the body is read', async () => {
    const forbidden = await post(daemon.url, '/v1/topics/app.orders', '{"a":1}', bearer(web));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toEqual({ code: 'TOPIC_FORBIDDEN', message: "the credential 'token:web' may not write topic 'app.orders'" });
    expect((await post(daemon.url, '/v1/topics/app.orders', '{"a":1}', bearer(all))).status).toBe(202);
    const legacy = await post(daemon.url, '/message/json', legacyMessage('app.legacy'), bearer(web));
    expect(legacy.status).toBe(403);
    expect(legacy.body).toMatchObject({ status: 'ERROR', message: expect.stringMatching(/may not write topic 'app.legacy'/) });
    // Refused before the upload: a client waiting for `100 Continue` gets the 403 instead.
    const answer = await rawRequest(daemon.port, `POST /v1/topics/app.orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${web.token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('answers 403 TOPIC_NOT_ALLOWED for a topic outside http.topics, but 401 first to a caller without a credential', async () => {
    const outside = await post(daemon.url, '/v1/topics/secret.stuff', '{}', bearer(all));
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe('TOPIC_NOT_ALLOWED');
    expect((await post(daemon.url, '/v1/topics/secret.stuff', '{}')).status).toBe(401);
  });

  it('lets anyone write an open topic (browser beacons), and only that', async () => {
    const beacon = await fetch(`${daemon.url}/v1/topics/beacon.page?data=${encodeURIComponent('{"page":"/"}')}`);
    expect(beacon.status).toBe(202);
    expect((await post(daemon.url, '/v1/topics/beacon.page', '{"page":"/post"}')).status).toBe(202);
    expect((await post(daemon.url, '/v1/topics/web.page', '{}')).status).toBe(401);
  });

  it('keeps /health open and the operations endpoints behind the ops token', async () => {
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    for (const path of ['/stats', '/metrics', '/ready']) {
      const none = await fetch(`${daemon.url}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="sparkngin-ops", Basic realm="sparkngin-ops", charset="UTF-8"');
      // An ingest token is not an ops token.
      expect((await fetch(`${daemon.url}${path}`, { headers: bearer(all) })).status).toBe(401);
      expect((await fetch(`${daemon.url}${path}`, { headers: bearer(ops) })).status).toBe(200);
    }
    const metrics = await (await fetch(`${daemon.url}/metrics`, { headers: bearer(ops) })).text();
    expect(metrics).toMatch(/sparkngin_ingest_refused_requests_total\{status="401",code="UNAUTHORIZED"\} [1-9]/);
    expect(metrics).toMatch(/sparkngin_ingest_refused_requests_total\{status="403",code="TOPIC_FORBIDDEN"\} [1-9]/);
  });

  it('never writes a token or a token hash to its log, even at debug', () => {
    const logs = daemon.logs();
    expect(logs).toContain('"ingest.refused"');
    for (const made of [web, all, ops]) {
      expect(logs).not.toContain(made.token);
      expect(logs).not.toContain(made.grant.sha256);
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a client owes events, per credential', async () => {
    const daemon = await startDaemon({ config: { auth: { tokens: [web.grant, all.grant] }, rateLimit: { eventsPerSecond: 10 } } });
    try {
      const many = Array.from({ length: 1000 }, (_, n) => JSON.stringify({ n })).join('\n');
      // Let in while the bucket is not in debt, however large the request: it is never refused after its upload.
      expect((await post(daemon.url, '/v1/topics/web.a', many, { ...bearer(web), 'content-type': 'application/x-ndjson' })).status).toBe(202);
      const limited = await post(daemon.url, '/v1/topics/web.a', '{}', bearer(web));
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
      // 990 events owed at 10/s: about 99 s.
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(60);
      // Another credential has its own bucket.
      expect((await post(daemon.url, '/v1/topics/web.a', '{}', bearer(all))).status).toBe(202);
    } finally {
      await daemon.close();
    }
  });

  it('limits requests per second by client address (behind a trusted proxy, the forwarded one)', async () => {
    const daemon = await startDaemon({ config: { http: { trustProxy: true }, rateLimit: { requestsPerSecond: 0.01, burstSeconds: 200 } } });
    try {
      const from = (address: string) => ({ 'x-forwarded-for': address });
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('192.0.2.1'))).status).toBe(202);
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('192.0.2.1'))).status).toBe(202);
      const third = await post(daemon.url, '/v1/topics/t', '{}', from('192.0.2.1'));
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(30);
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('192.0.2.2'))).status).toBe(202);
      // An IPv6 client is one /64: another address in it shares the bucket.
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('2001:db8:1:2::1'))).status).toBe(202);
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('2001:db8:1:2::ffff'))).status).toBe(202);
      expect((await post(daemon.url, '/v1/topics/t', '{}', from('2001:db8:1:2:aaaa::7'))).status).toBe(429);
      // /health is never limited.
      expect((await fetch(`${daemon.url}/health`, { headers: from('192.0.2.1') })).status).toBe(200);
    } finally {
      await daemon.close();
    }
  });
});

describe('operations endpoints on their own listener', () => {
  it('serves /stats, /metrics and /ready there only, events on the ingest port only, with no absolute path in /stats', async () => {
    const opsPort = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-ops-'));
    // A directory where the file sink's file for topic 't' would be: its writes fail with the path in the error.
    await mkdir(join(dataDir, 'out', 't.ndjson'), { recursive: true });
    const daemon = await startDaemon({ dataDir, config: { ops: { listen: `127.0.0.1:${opsPort}` }, sinks: { file: { retry: { initialMs: 50, maxMs: 200 } } } } });
    const opsUrl = `http://127.0.0.1:${opsPort}`;
    try {
      for (const path of ['/stats', '/metrics', '/ready']) {
        expect((await fetch(`${daemon.url}${path}`)).status).toBe(404);
        expect((await fetch(`${opsUrl}${path}`)).status).toBe(200);
      }
      expect((await fetch(`${opsUrl}/health`)).status).toBe(200);
      expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
      expect((await post(opsUrl, '/v1/topics/t', '{}')).status).toBe(404);
      expect((await post(opsUrl, '/message/json', legacyMessage('t'))).status).toBe(404);
      expect((await post(daemon.url, '/v1/topics/t', '{}')).status).toBe(202);

      let stats = '';
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
        stats = await (await fetch(`${opsUrl}/stats`)).text();
        if (JSON.parse(stats).sinks[0].lastError !== undefined) break;
      }
      const lastError: string = JSON.parse(stats).sinks[0].lastError;
      expect(lastError).toMatch(/EISDIR/);
      expect(lastError).toContain('<dataDir>/out/t.ndjson');
      expect(stats).not.toContain(dataDir);
      expect(stats).not.toMatch(/(^|[\s'"(=])\/(tmp|var|home|root)\//);
    } finally {
      await daemon.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('sparkngin config show', () => {
  it('redacts passwords, passphrases and token hashes, and names no secret in a configuration error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkngin-redact-'));
    try {
      const file = join(dir, 'sparkngin.yaml');
      await writeFile(
        file,
        stringify({
          auth: { tokens: [web.grant] },
          ops: { tokens: [{ name: 'p', sha256: ops.grant.sha256 }] },
          sinks: { kafka: { brokers: ['k:9092'], sasl: { mechanism: 'scram-sha-512', username: 'sparkngin', password: 'hunter2-kafka' }, tls: { enabled: true, passphrase: 'key-pass-9' } } },
        }),
      );
      const shown = execFileSync(process.execPath, [BUNDLE, 'config', 'show', '--config', file], { encoding: 'utf8' });
      for (const secret of [web.grant.sha256, ops.grant.sha256, 'hunter2-kafka', 'key-pass-9']) expect(shown).not.toContain(secret);
      const config = JSON.parse(shown);
      expect(config.auth.tokens).toEqual([{ name: 'web', sha256: '(redacted)', topics: ['web.*'] }]);
      expect(config.sinks.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'sparkngin', password: '(redacted)' });
      expect(config.tls.passphrase).toBe('');

      await writeFile(file, 'sinks:\n  kafka:\n    sasl:\n      password: 987654321\n');
      let message = '';
      try {
        execFileSync(process.execPath, [BUNDLE, 'config', 'check', file], { encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        message = String((error as { stderr: string }).stderr);
      }
      expect(message).toMatch(/sinks\.kafka\.sasl\.password: expected a string/);
      expect(message).not.toContain('987654321');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function waitForLines(file: string, count: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.split('\n').filter(Boolean).length >= count) return;
  }
}

/** Sends raw bytes and returns what the server answered first (up to 2 s). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\r\n\r\n')) done();
    });
    socket.on('error', done);
    setTimeout(done, 2_000).unref();
  });
}
