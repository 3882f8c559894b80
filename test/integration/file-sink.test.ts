// The embedded default: no Kafka, spool + file sink. Events posted over HTTP land as JSON envelopes
// in <dataDir>/out/<topic>.ndjson, and survive a restart of the daemon.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, fileSinkLines, postEvents, startDaemon } from './daemon-process';

let daemon: DaemonProcess;
beforeAll(async () => {
  daemon = await startDaemon();
});
afterAll(async () => {
  await daemon?.close();
});

async function fileLines(topic: string, count: number): Promise<any[]> {
  const path = join(daemon.dataDir, 'out', `${topic}.ndjson`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = await fileSinkLines(path);
    if (lines.length >= count || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('daemon with the file sink', () => {
  it('writes JSON, NDJSON and text events with their envelope fields', async () => {
    const one = await fetch(`${daemon.url}/v1/topics/clicks?key=user-42`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sparkngin-header-source': 'web' },
      body: '{"user":42,"page":"/home"}',
    });
    expect(one.status).toBe(202);
    const answer = (await one.json()) as { accepted: number; ids: string[] };
    expect(answer.accepted).toBe(1);
    expect(answer.ids).toHaveLength(1);

    const batch = await postEvents(daemon.url, 'clicks', [{ n: 1 }, { n: 2 }]);
    expect(batch.status).toBe(202);
    const text = await fetch(`${daemon.url}/v1/topics/logs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'first line\nsecond line\n' });
    expect(text.status).toBe(202);

    const clicks = await fileLines('clicks', 3);
    expect(clicks.map((line) => line.data)).toEqual([{ user: 42, page: '/home' }, { n: 1 }, { n: 2 }]);
    expect(clicks[0]).toMatchObject({ id: answer.ids[0], topic: 'clicks', key: 'user-42', type: 'json', ip: '127.0.0.1', headers: { source: 'web' } });
    expect(typeof clicks[0].ts).toBe('number');
    expect((await fileLines('logs', 2)).map((line) => line.data)).toEqual(['first line', 'second line']);
  });

  it('answers ack=sink only after the file sink has the events', async () => {
    const { status, body } = await postEvents(daemon.url, 'acked', [{ a: 1 }], '?ack=sink');
    expect(status).toBe(202);
    const text = await readFile(join(daemon.dataDir, 'out', 'acked.ndjson'), 'utf8');
    expect(JSON.parse(text.trim()).id).toBe(body.ids[0]);
  });

  it('keeps delivering after a graceful restart, without duplicating what was written', async () => {
    expect(await daemon.stop()).toBe(0);
    expect(daemon.logs()).toMatch(/"event":"daemon.stopped"/);
    await daemon.restart();
    await postEvents(daemon.url, 'clicks', [{ n: 3 }]);
    const clicks = await fileLines('clicks', 4);
    expect(clicks.map((line) => line.data)).toEqual([{ user: 42, page: '/home' }, { n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('after a crash that cut a line short, cuts it away before writing, so every line stays whole', async () => {
    // What a kill -9 in the middle of the sink's write leaves (the chaos kill loop met it): the
    // start of a line at the end of the file. Its records are written again after a restart.
    expect(await daemon.stop()).toBe(0);
    const fragment = '{"id":"01234567-cut","topic":"clicks","ts":17';
    await appendFile(join(daemon.dataDir, 'out', 'clicks.ndjson'), fragment);
    await daemon.restart();
    await postEvents(daemon.url, 'clicks', [{ n: 4 }]);
    const clicks = await fileLines('clicks', 5);
    expect(clicks.map((line) => line.data)).toEqual([{ user: 42, page: '/home' }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(daemon.logs()).toContain(`"event":"file_sink.torn_tail_cut"`);
    expect(daemon.logs()).toContain(`"bytes":${fragment.length}`);
  });
});
