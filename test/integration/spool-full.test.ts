// The spool at its size limit under `fullPolicy: reject`: ingest answers 503 with Retry-After, and
// nothing it accepted before is lost. The only sink points at a Kafka that is not there, so nothing
// drains; a restart with the file sink then shows every accepted event.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { type DaemonProcess, fileSinkLines, postEvents, startDaemon } from './daemon-process';

const running: DaemonProcess[] = [];
afterAll(async () => {
  while (running.length) await running.pop()!.close();
});

describe('spool full under reject', () => {
  it('answers 503 with Retry-After, is not ready, and loses nothing it accepted', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const daemon = await startDaemon({
      config: {
        spool: { segmentBytes: 64 * 1024, maxBytes: 256 * 1024, fullPolicy: 'reject' },
        sinks: { file: { enabled: false }, kafka: { brokers: [nowhere], retry: { initialMs: 200, maxMs: 1000 } } },
      },
    });
    running.push(daemon);
    const accepted: number[] = [];
    let refused: { status: number; body: any; headers: Headers } | undefined;
    for (let n = 0; n < 10_000 && !refused; n += 20) {
      const batch = Array.from({ length: 20 }, (_, i) => ({ n: n + i, pad: 'p'.repeat(200) }));
      const answer = await postEvents(daemon.url, 'full', batch);
      if (answer.status === 202) accepted.push(...batch.map((event) => event.n));
      else refused = answer;
    }
    expect(refused?.status).toBe(503);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.body.error.code).toBe('SPOOL_FULL');
    const ready = await fetch(`${daemon.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toContain('spool full');
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);

    expect(await daemon.stop()).toBe(0);
    const drained = await startDaemon({ dataDir: daemon.dataDir });
    running.push(drained); // closed first: the first daemon owns the data dir
    const deadline = Date.now() + 15_000;
    let delivered: number[] = [];
    while (delivered.length < accepted.length && Date.now() < deadline) {
      delivered = (await fileSinkLines(join(daemon.dataDir, 'out', 'full.ndjson'))).map((line) => line.data.n);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(delivered).toEqual(accepted);
  });
});
