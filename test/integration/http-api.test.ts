// The HTTP contract of the running daemon, as a client sees it, checked against what the file sink
// wrote: content types, keys, client time, ack modes, beacons, the original Sparkngin routes and the
// operations endpoints.
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, fileSinkLines, startDaemon } from './daemon-process';

let daemon: DaemonProcess;
beforeAll(async () => {
  daemon = await startDaemon({ config: { host: 'ingest-1' } });
});
afterAll(async () => {
  await daemon?.close();
});

async function post(path: string, contentType: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

/** The file sink's lines for a topic, waiting until `count` are there. */
async function written(topic: string, count: number): Promise<any[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = await fileSinkLines(join(daemon.dataDir, 'out', `${topic}.ndjson`));
    if (lines.length >= count || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

describe('HTTP API', () => {
  it('takes a JSON array as one event per element', async () => {
    const answer = await post('/v1/topics/array', 'application/json; charset=utf-8', '[{"a":1}, "two", 3, null]');
    expect(answer.status).toBe(202);
    expect(answer.body.accepted).toBe(4);
    expect(answer.body.ids).toHaveLength(4);
    expect((await written('array', 4)).map((line) => line.data)).toEqual([{ a: 1 }, 'two', 3, null]);
  });

  it('takes text lines (LF or CRLF, blank lines skipped) and a binary body', async () => {
    expect((await post('/v1/topics/text', 'text/plain', 'alpha\r\n\r\nbeta\ngamma')).body.accepted).toBe(3);
    expect((await written('text', 3)).map((line) => [line.type, line.data])).toEqual([['text', 'alpha'], ['text', 'beta'], ['text', 'gamma']]);
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    expect((await post('/v1/topics/bin', 'application/octet-stream', bytes)).status).toBe(202);
    const [binary] = await written('bin', 1);
    expect(binary.type).toBe('binary');
    expect(Buffer.from(binary.data, 'base64')).toEqual(bytes);
  });

  it('keeps non-ASCII NDJSON byte for byte', async () => {
    const lines = ['{"name":"Zoë"}', '{"city":"東京"}'];
    expect((await post('/v1/topics/utf8', 'application/x-ndjson', `${lines.join('\n')}\n`)).body.accepted).toBe(2);
    expect((await written('utf8', 2)).map((line) => line.data)).toEqual([{ name: 'Zoë' }, { city: '東京' }]);
  });

  it('takes key, client time, ack mode and event headers from headers as from the query', async () => {
    const answer = await post('/v1/topics/meta', 'application/json', '{"m":1}', {
      'x-sparkngin-key': 'k-9',
      'x-sparkngin-time': '1700000000999',
      'x-sparkngin-ack': 'sink',
      'X-Sparkngin-Header-Trace-Id': 'abc',
    });
    expect(answer.status).toBe(202);
    const [line] = await written('meta', 1);
    expect(line).toMatchObject({ id: answer.body.ids[0], key: 'k-9', sts: 1700000000999, host: 'ingest-1', headers: { 'trace-id': 'abc' } });
    expect((await post('/v1/topics/meta?ack=maybe', 'application/json', '{}')).body.error.code).toBe('INVALID_ACK');
    expect((await post('/v1/topics/meta?sts=yesterday', 'application/json', '{}')).body.error.code).toBe('INVALID_TIME');
  });

  it('takes a beacon as GET with data=, JSON when it parses and text otherwise', async () => {
    const json = await fetch(`${daemon.url}/v1/topics/beacon?data=${encodeURIComponent('{"v":1}')}&key=b1`);
    expect(json.status).toBe(202);
    expect(json.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${daemon.url}/v1/topics/beacon?data=plain%20words`)).status).toBe(202);
    expect((await fetch(`${daemon.url}/v1/topics/beacon`)).status).toBe(400);
    expect((await written('beacon', 2)).map((line) => [line.type, line.data, line.key])).toEqual([
      ['json', { v: 1 }, 'b1'],
      ['text', 'plain words', undefined],
    ]);
  });

  it('speaks the original Sparkngin /message/json with its Ack', async () => {
    const message = { header: { version: 0.0, topic: 'legacy', key: 'message-1' }, data: { type: 'Event', data: Buffer.from('{"old":true}').toString('base64'), serializeType: 'json' }, traces: [] };
    const posted = await fetch(`${daemon.url}/message/json`, { method: 'POST', body: JSON.stringify(message) });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual({ messageId: 'message-1', status: 'OK', message: null });
    const viaGet = { ...message, header: { ...message.header, key: 'message-2' } };
    const got = await fetch(`${daemon.url}/message/json?data=${encodeURIComponent(JSON.stringify(viaGet))}`);
    expect(await got.json()).toEqual({ messageId: 'message-2', status: 'OK', message: null });
    const [first, second] = await written('legacy', 2);
    expect(first).toMatchObject({ key: 'message-1', type: 'json', data: { old: true } });
    expect(second.key).toBe('message-2');
    const bad = await fetch(`${daemon.url}/message/json`, { method: 'POST', body: '{"header":{}}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ messageId: null, status: 'ERROR' });
  });

  it('honours Expect: 100-continue', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${daemon.url}/v1/topics/continue`, { method: 'POST', headers: { 'content-type': 'application/json', expect: '100-continue' } });
      req.on('continue', () => req.end('{"c":1}'));
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(202);
  });

  it('serves health, readiness, JSON stats and Prometheus metrics, refusals counted by status and code', async () => {
    expect((await fetch(`${daemon.url}/health`, { method: 'HEAD' })).status).toBe(200);
    const before = (await (await fetch(`${daemon.url}/stats`)).json()) as { ingest: { refused: Array<{ status: number; code: string; count: number }> } };
    const refusedBefore = before.ingest.refused.find((entry) => entry.code === 'UNSUPPORTED_MEDIA_TYPE')?.count ?? 0;
    for (let i = 0; i < 2; i++) expect((await fetch(`${daemon.url}/v1/topics/t`, { method: 'POST', headers: { 'content-type': 'text/html' }, body: '<p>' })).status).toBe(415);
    expect(await (await fetch(`${daemon.url}/ready`)).json()).toEqual({ status: 'ready' });
    const stats = (await (await fetch(`${daemon.url}/stats`)).json()) as any;
    expect(stats.spool.appendedRecords).toBeGreaterThan(10);
    expect(stats.sinks).toEqual([expect.objectContaining({ sink: 'file', health: { state: 'up' } })]);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^sparkngin_spool_appended_records_total \d+$/m);
    expect(metrics).toMatch(/^sparkngin_sink_lag_records\{sink="file"\} \d+$/m);
    expect(stats.ingest.refused).toContainEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', count: refusedBefore + 2 });
    expect(metrics).toContain(`sparkngin_ingest_refused_requests_total{status="415",code="UNSUPPORTED_MEDIA_TYPE"} ${refusedBefore + 2}`);
  });
});
