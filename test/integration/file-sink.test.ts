// The embedded default: no Kafka, spool + file sink. Events posted over HTTP land as JSON envelopes
// in <dataDir>/out/<topic>.ndjson, and survive a restart of the daemon.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

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
    const text = await readFile(path, 'utf8').catch(() => '');
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
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
});
