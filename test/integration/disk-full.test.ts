// A disk that really fills up, not a configured limit: the data dir is a small tmpfs of its own, the
// spool's size limit is far above it, and the only sink points at a Kafka that is not there, so the
// filesystem's ENOSPC is what stops appends. Ingest must answer 503 with Retry-After, stay alive and
// healthy, take events again as soon as there is room (no restart), and lose none it accepted.
// Mounting needs root, as the rest of the suite's set-up does (apt, debootstrap).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { type DaemonProcess, fileSinkLines, postEvents, startDaemon } from './daemon-process';

const running: DaemonProcess[] = [];
const mounts: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  while (running.length) await running.pop()!.close();
  for (const mount of mounts) execFileSync('umount', ['-l', mount]);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function postUntilRefused(daemon: DaemonProcess, from: number, accepted: number[]) {
  for (let n = from; n < from + 100_000; n += 50) {
    const batch = Array.from({ length: 50 }, (_, i) => ({ n: n + i, pad: 'p'.repeat(400) }));
    const answer = await postEvents(daemon.url, 'disk', batch);
    if (answer.status === 202) accepted.push(...batch.map((event) => event.n));
    else return { answer, next: n + 50 };
  }
  throw new Error('the disk never filled up');
}

describe('a full disk', () => {
  it('refuses with 503 while the filesystem is full, recovers when room is made, and loses nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-diskfull-'));
    const outDir = await mkdtemp(join(tmpdir(), 'sparkngin-diskfull-out-'));
    dirs.push(dataDir, outDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dataDir]);
    mounts.push(dataDir);
    const nowhere = `127.0.0.1:${await freePort()}`;
    const daemon = await startDaemon({
      dataDir,
      config: {
        spool: { segmentBytes: 512 * 1024, maxBytes: '1GiB', fullPolicy: 'reject' },
        sinks: { file: { enabled: false }, kafka: { brokers: [nowhere], retry: { initialMs: 200, maxMs: 1000 } } },
      },
    });
    running.push(daemon);

    const accepted: number[] = [];
    const first = await postUntilRefused(daemon, 0, accepted);
    expect(accepted.length).toBeGreaterThan(1000);
    expect(first.answer.status).toBe(503);
    expect(first.answer.body.error.code).toBe('SPOOL_FULL');
    expect(Number(first.answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${daemon.url}/ready`)).status).toBe(503);
    expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    expect(daemon.logs()).toContain('spool.disk_full');

    // Room is made while the daemon runs: after Retry-After, ingest takes events again.
    execFileSync('mount', ['-o', 'remount,size=6m', dataDir]);
    await new Promise((resolve) => setTimeout(resolve, 1100 * Number(first.answer.headers.get('retry-after'))));
    const before = accepted.length;
    const second = await postUntilRefused(daemon, first.next, accepted);
    expect(accepted.length).toBeGreaterThan(before);
    expect(second.answer.status).toBe(503);

    // Stopping on a full disk is still an orderly stop; then a daemon with a file sink elsewhere
    // drains the spool: every accepted event, in order, none that was refused.
    expect(await daemon.stop()).toBe(0);
    const drained = await startDaemon({ dataDir, config: { sinks: { file: { enabled: true, dir: outDir } } } });
    running.push(drained);
    const deadline = Date.now() + 20_000;
    let delivered: number[] = [];
    while (delivered.length < accepted.length && Date.now() < deadline) {
      delivered = (await fileSinkLines(join(outDir, 'disk.ndjson'))).map((line) => line.data.n);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`disk full: ${first.next - 50} events accepted before ENOSPC, ${accepted.length} in all, ${delivered.length} delivered`);
    expect(delivered).toEqual(accepted);
  });
});
