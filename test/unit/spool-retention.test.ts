// spool.maxAgeSeconds covers every record, not only those in sealed segments: a quiet instance whose
// one active segment holds records past the limit rolls away from it, and the records go (deleted
// when every sink has them, dropped and counted when not); records within the limit stay, also
// after a restart (a segment's age then is its file's modification time).
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger, openSpool, payloadOf, readAll, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function spoolDir() {
  const temp = await tempDir();
  cleanups.push(temp.remove);
  return temp.dir;
}

const segmentFiles = async (dir: string) => (await readdir(join(dir, 'segments'))).sort();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('spool.maxAgeSeconds', () => {
  it('drops undelivered records past the limit from the active segment of a quiet spool, counted and logged', async () => {
    const dir = await spoolDir();
    const { logger, lines } = capturingLogger();
    const spool = await openSpool(dir, { maxAgeSeconds: 1, logger });
    cleanups.push(() => spool.close());
    const reader = await spool.openReader('slow');
    await spool.append(Array.from({ length: 5 }, (_, i) => payloadOf(i)));
    expect(await segmentFiles(dir)).toHaveLength(1);
    await pause(1200);
    await spool.maintain();
    expect(spool.stats().droppedRecords).toBe(5);
    expect(lines.find((line) => line.event === 'spool.segment_dropped')).toMatchObject({ level: 'warn', reason: 'older than spool.maxAgeSeconds', undeliveredRecords: 5 });
    // What comes after is kept and read; the reader skipped what was dropped.
    await spool.append([payloadOf(100)]);
    expect((await readAll(reader, 1)).map((record) => record.seq)).toEqual([5]);
    expect(reader.skippedRecords).toBe(0);
  });

  it('deletes delivered records past the limit without counting a loss', async () => {
    const dir = await spoolDir();
    const { logger, lines } = capturingLogger();
    const spool = await openSpool(dir, { maxAgeSeconds: 1, logger });
    cleanups.push(() => spool.close());
    const reader = await spool.openReader('fast');
    await spool.append(Array.from({ length: 3 }, (_, i) => payloadOf(i)));
    await readAll(reader, 3);
    reader.commit(3);
    const before = await segmentFiles(dir);
    await pause(1200);
    await spool.maintain();
    await spool.maintain();
    expect(spool.stats()).toMatchObject({ droppedRecords: 0, bytes: 0, firstSeq: 3, nextSeq: 3 });
    expect(await segmentFiles(dir)).not.toContain(before[0]);
    expect(lines.filter((line) => line.event === 'spool.segment_dropped')).toEqual([]);
  });

  it('goes by whole segments: one goes once its newest record is past the limit, so a record lives at most twice the limit', async () => {
    const dir = await spoolDir();
    const spool = await openSpool(dir, { maxAgeSeconds: 2, segmentBytes: 4096 });
    cleanups.push(() => spool.close());
    const reader = await spool.openReader('slow');
    for (let i = 0; i < 100; i++) await spool.append([payloadOf(i, 200)]);
    const sealed = spool.stats().segments - 1;
    const inActive = 100 - sealed * Math.floor(4096 / (200 + 20));
    await pause(2200);
    await spool.append([payloadOf(1000)]);
    await spool.maintain();
    // The sealed segments went; the active one, older than the limit, was rolled away from but holds
    // a fresh record: it stays, with the old records in it.
    expect(spool.stats()).toMatchObject({ droppedRecords: 100 - inActive, firstSeq: 100 - inActive, nextSeq: 101 });
    await pause(2200);
    await spool.maintain();
    expect(spool.stats()).toMatchObject({ droppedRecords: 101, firstSeq: 101, nextSeq: 101 });
    await spool.append([payloadOf(2000)]);
    expect((await readAll(reader, 1)).map((record) => record.text)).toEqual([payloadOf(2000).toString()]);
  });

  it('judges the segments found at start by their modification time', async () => {
    const dir = await spoolDir();
    const first = await openSpool(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 60; i++) await first.append([payloadOf(i, 200)]);
    await first.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    // The older half of the segments was last written an hour ago.
    const hourAgo = new Date(Date.now() - 3600_000);
    const aged = files.slice(0, Math.floor(files.length / 2));
    for (const file of aged) await utimes(join(dir, 'segments', file), hourAgo, hourAgo);
    const spool = await openSpool(dir, { segmentBytes: 4096, maxAgeSeconds: 600 });
    cleanups.push(() => spool.close());
    await spool.openReader('slow');
    await spool.maintain();
    const left = await segmentFiles(dir);
    expect(left.filter((file) => aged.includes(file))).toEqual([]);
    expect(left).toEqual(expect.arrayContaining(files.slice(aged.length)));
    expect(spool.stats().droppedRecords).toBeGreaterThan(0);
  });
});
