// Bad input against the real daemon process: each case a clear JSON 4xx, and the daemon unharmed —
// it still answers, and what it accepted before is still delivered.
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let daemon: DaemonProcess;
beforeAll(async () => {
  daemon = await startDaemon({ config: { http: { maxBodyBytes: 64 * 1024, bodyTimeoutMs: 1500 } } });
  expect((await postEvents(daemon.url, 'before', [{ accepted: 'before the bad input' }])).status).toBe(202);
});
afterAll(async () => {
  await daemon?.close();
});

async function send(path: string, init: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${daemon.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

const json = { 'content-type': 'application/json' };

describe('bad input to the daemon', () => {
  it.each([
    ['malformed JSON', '/v1/topics/t', { method: 'POST', headers: json, body: '{"user": 4' }, 400],
    ['a bad NDJSON line', '/v1/topics/t', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"a":1}\n{oops}\n' }, 400],
    ['an empty body', '/v1/topics/t', { method: 'POST', headers: json, body: '' }, 400],
    ['an unsupported content type', '/v1/topics/t', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' }, 415],
    ['an invalid topic name', '/v1/topics/bad%20topic!', { method: 'POST', headers: json, body: '{}' }, 400],
    ['a topic name over 249 characters', `/v1/topics/${'t'.repeat(250)}`, { method: 'POST', headers: json, body: '{}' }, 400],
    ['an unknown route', '/v2/whatever', { method: 'GET' }, 404],
    ['a wrong method', '/v1/topics/t', { method: 'DELETE' }, 405],
    ['a body over the limit', '/v1/topics/t', { method: 'POST', headers: json, body: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }) }, 413],
  ] as const)('%s: a JSON %i error', async (_name, path, init, status) => {
    const answer = await send(path, init as RequestInit);
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body.error.code).toMatch(/^[A-Z_]+$/);
    expect(answer.body.error.message.length).toBeGreaterThan(5);
    if (status === 405) expect(answer.headers.get('allow')).toMatch(/POST/);
  });

  it('times out a client that sends its body slowly, while others are served', async () => {
    const socket = connect(daemon.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('POST /v1/topics/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    const other = await postEvents(daemon.url, 'fast', [{ ok: true }]);
    expect(other.status).toBe(202);
    await closed;
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toMatch(/"code":"[A-Z_]+"/);
  });

  it('is unharmed: healthy, and the event accepted before the bad input was delivered', async () => {
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    const text = await readFile(join(daemon.dataDir, 'out', 'before.ndjson'), 'utf8');
    expect(JSON.parse(text.trim()).data).toEqual({ accepted: 'before the bad input' });
    expect(daemon.logs()).not.toMatch(/"level":"error"/);
  });
});
