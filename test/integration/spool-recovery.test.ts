// A spool damaged while the daemon was down: the newest segment cut mid-record, or a byte flipped in
// the middle. The daemon must start, say what it found, and deliver every intact record.
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const running: DaemonProcess[] = [];
afterEach(async () => {
  // The last one started owns nothing; the first one owns (and removes) the temp data dir.
  while (running.length) await running.pop()!.close();
});

/** Spools 100 events with the file sink off (so they stay undelivered), then stops the daemon. */
async function spoolUndelivered(): Promise<{ daemon: DaemonProcess; segment: string }> {
  const started = await startDaemon({ config: { sinks: { file: { enabled: false } } } });
  running.push(started);
  for (let i = 0; i < 100; i++) expect((await postEvents(started.url, 'events', [{ n: i }])).status).toBe(202);
  expect(await started.stop()).toBe(0);
  const dir = join(started.dataDir, 'spool', 'segments');
  const segments = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
  const sizes = await Promise.all(segments.map(async (name) => (await stat(join(dir, name))).size));
  const withData = segments.filter((_, i) => sizes[i]! > 0);
  return { daemon: started, segment: join(dir, withData.at(-1)!) };
}

async function delivered(dir: string, count: number): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(join(dir, 'out', 'events.ndjson'), 'utf8').catch(() => '');
    const ns = text.split('\n').filter(Boolean).map((line) => JSON.parse(line).data.n as number);
    if (ns.length >= count || Date.now() > deadline) return ns;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('spool recovery in the running daemon', () => {
  it('starts on a segment cut mid-record, reports the torn tail, delivers the 99 intact events', async () => {
    const spooled = await spoolUndelivered();
    await truncate(spooled.segment, (await stat(spooled.segment)).size - 10);
    const daemon = await startDaemon({ dataDir: spooled.daemon.dataDir }); // file sink on again
    running.push(daemon);
    expect(daemon.logs()).toMatch(/spool.torn_tail_truncated/);
    expect(await delivered(daemon.dataDir, 99)).toEqual(Array.from({ length: 99 }, (_, i) => i));
    expect((await postEvents(daemon.url, 'events', [{ n: 100 }])).status).toBe(202);
  });

  it('starts on a segment with a flipped byte, reports the damage, delivers the 99 intact events', async () => {
    const spooled = await spoolUndelivered();
    const bytes = await readFile(spooled.segment);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(spooled.segment, bytes);
    const daemon = await startDaemon({ dataDir: spooled.daemon.dataDir });
    running.push(daemon);
    expect(daemon.logs()).toMatch(/spool.damage_found/);
    const ns = await delivered(daemon.dataDir, 99);
    expect(ns).toHaveLength(99);
    expect(new Set(ns).size).toBe(99);
    expect(ns.every((n) => n >= 0 && n < 100)).toBe(true);
  });
});
