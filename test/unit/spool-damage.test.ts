// Spool damage on a real disk, one case at a time: every record that is still intact is delivered,
// every one that is not is logged at error with its exact sequence range and counted, once.
import { mkdir, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentName } from '../../src/spool/segment-files';
import type { Spool } from '../../src/spool/spool';
import { capturingLogger, drain, openSpool, payloadOf, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// 40-byte payloads make 60-byte records: 600-byte segments hold exactly ten, segment k holds 10k..10k+9.
const SEGMENT_BYTES = 600;
const RECORD_BYTES = 60;

async function spoolOf(records: number): Promise<{ dir: string; segment(k: number): string }> {
  const temp = await tempDir();
  cleanups.push(temp.remove);
  const spool = await openSpool(temp.dir, { segmentBytes: SEGMENT_BYTES });
  for (let i = 0; i < records; i++) await spool.append([payloadOf(i)]);
  await spool.close();
  return { dir: temp.dir, segment: (k) => join(temp.dir, 'segments', segmentName(10 * k)) };
}

async function reopen(dir: string): Promise<{ spool: Spool; lines: Array<Record<string, any>> }> {
  const { logger, lines } = capturingLogger();
  const spool = await openSpool(dir, { segmentBytes: SEGMENT_BYTES, logger });
  cleanups.push(() => spool.close());
  return { spool, lines };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const errors = (lines: Array<Record<string, any>>, event: string) => lines.filter((line) => line.event === event && line.level === 'error');
const seqsOf = async (spool: Spool, sink = 'k') => (await drain(spool, await spool.openReader(sink))).map((record) => record.seq);

describe('spool damage', () => {
  it('finds a middle segment deleted while the daemon was down, at start, with its exact range', async () => {
    const written = await spoolOf(50);
    await rm(written.segment(2));
    const { spool, lines } = await reopen(written.dir);
    expect(errors(lines, 'spool.records_lost')).toMatchObject([{ fromSeq: 20, toSeq: 29, records: 10, reason: 'missing', file: written.segment(2) }]);
    expect(spool.stats()).toMatchObject({ lostRecords: 10, lostRanges: 1 });
    expect(await seqsOf(spool)).toEqual([...range(0, 19), ...range(30, 49)]);
    // The sink that skipped it says so; the loss is still counted once.
    expect(errors(lines, 'spool.records_skipped')).toMatchObject([{ sink: 'k', fromSeq: 20, toSeq: 29 }]);
    expect(spool.stats()).toMatchObject({ lostRecords: 10, readers: [{ sink: 'k', skippedRecords: 10 }] });
  });

  it('finds a middle segment deleted while it runs, when a reader gets there', async () => {
    const written = await spoolOf(50);
    const { spool, lines } = await reopen(written.dir);
    await rm(written.segment(3));
    expect(await seqsOf(spool)).toEqual([...range(0, 29), ...range(40, 49)]);
    expect(errors(lines, 'spool.segment_missing')).toMatchObject([{ file: written.segment(3), fromSeq: 30, toSeq: 39 }]);
    expect(errors(lines, 'spool.records_lost')).toMatchObject([{ fromSeq: 30, toSeq: 39, sink: 'k' }]);
    expect(spool.stats().lostRecords).toBe(10);
    expect((await spool.append([payloadOf(50)])).firstSeq).toBe(50);
  });

  it('reads past a sealed segment cut short in the middle of a record while it runs (a short read is the file\'s end)', async () => {
    const written = await spoolOf(50);
    const { spool, lines } = await reopen(written.dir);
    await truncate(written.segment(3), 6 * RECORD_BYTES + 11); // records 36.. of segment 3 cut off, 36 in the middle
    expect(await seqsOf(spool)).toEqual([...range(0, 35), ...range(40, 49)]);
    expect(errors(lines, 'spool.records_lost')).toMatchObject([{ fromSeq: 36, toSeq: 39, reason: 'damaged', sink: 'k' }]);
    expect(spool.stats().lostRecords).toBe(4);
  });

  it('finds the oldest and the newest segments deleted, from the manifest', async () => {
    const written = await spoolOf(45);
    await rm(written.segment(0));
    await rm(written.segment(4));
    const { spool, lines } = await reopen(written.dir);
    const lost = errors(lines, 'spool.records_lost').map(({ fromSeq, toSeq }) => [fromSeq, toSeq]);
    expect(lost).toEqual([
      [0, 9],
      [40, 44],
    ]);
    expect(await seqsOf(spool)).toEqual(range(10, 39));
    expect((await spool.append([payloadOf(45)])).firstSeq).toBe(45); // numbers are never reused
  });

  it('accounts a record cut out of a sealed segment, and a sealed segment cut short, by their exact ranges', async () => {
    const written = await spoolOf(50);
    const bytes = await readFile(written.segment(1));
    bytes[4 * RECORD_BYTES + 30]! ^= 0x40; // inside record 14's payload
    await writeFile(written.segment(1), bytes);
    await truncate(written.segment(3), 6 * RECORD_BYTES + 11); // records 36.. of segment 3 cut off
    const { spool, lines } = await reopen(written.dir);
    expect(await seqsOf(spool)).toEqual([...range(0, 13), ...range(15, 35), ...range(40, 49)]);
    expect(errors(lines, 'spool.records_lost')).toMatchObject([
      { fromSeq: 14, toSeq: 14, reason: 'damaged', file: written.segment(1), offset: 5 * RECORD_BYTES },
      { fromSeq: 36, toSeq: 39, reason: 'damaged', file: written.segment(4), offset: 0 },
    ]);
    expect(errors(lines, 'spool.damage_found')).toMatchObject([
      { file: written.segment(1), from: 4 * RECORD_BYTES, to: 5 * RECORD_BYTES },
      { file: written.segment(3), from: 6 * RECORD_BYTES, to: 6 * RECORD_BYTES + 11 },
    ]);
    // A second sink meets the same damage: its skips are its own, the loss is counted once.
    expect((await seqsOf(spool, 'second')).length).toBe(45);
    expect(spool.stats()).toMatchObject({ lostRecords: 5, lostRanges: 2, damagedStretches: 2 });
  });

  it('resets a cursor past the end of the spool to redeliver everything, never to skip', async () => {
    const written = await spoolOf(30);
    await writeFile(join(written.dir, 'cursors', 'k.json'), JSON.stringify({ nextSeq: 1_000_000 }));
    await writeFile(join(written.dir, 'cursors', 'garbled.json'), '{"nextSeq": 1');
    const { spool, lines } = await reopen(written.dir);
    expect(await seqsOf(spool, 'k')).toEqual(range(0, 29));
    expect(await seqsOf(spool, 'garbled')).toEqual(range(0, 29));
    expect(errors(lines, 'spool.cursor_reset')).toMatchObject([
      { sink: 'k', resetTo: 0, spoolNextSeq: 30 },
      { sink: 'garbled', resetTo: 0 },
    ]);
    expect(spool.stats().cursorResets).toBe(2);
    await spool.append([payloadOf(30)]);
    expect(await seqsOf(spool, 'k')).toEqual([30]); // new events flow to it again
  });

  it('quarantines a segment that cannot be read (a directory in its place) and delivers the rest', async () => {
    const written = await spoolOf(50);
    const { spool, lines } = await reopen(written.dir);
    await rm(written.segment(2));
    await mkdir(written.segment(2)); // open() succeeds on a directory; read() fails with EISDIR
    expect(await seqsOf(spool)).toEqual([...range(0, 19), ...range(30, 49)]);
    const [quarantined] = errors(lines, 'spool.segment_quarantined');
    expect(quarantined).toMatchObject({ file: written.segment(2), fromSeq: 20, toSeq: 29, error: { code: 'EISDIR' } });
    expect(quarantined!.movedTo).toBe(join(written.dir, 'quarantine', segmentName(20)));
    expect((await stat(quarantined!.movedTo)).isDirectory()).toBe(true);
    expect(errors(lines, 'spool.records_lost')).toMatchObject([{ fromSeq: 20, toSeq: 29, reason: 'quarantined' }]);
    expect(spool.stats()).toMatchObject({ quarantinedSegments: 1, lostRecords: 10 });
  });

  it('quarantines a segment whose reads fail with EIO, and delivers the rest', async () => {
    const written = await spoolOf(40);
    const { spool, lines } = await reopen(written.dir);
    // A real EIO from the kernel: reading /proc/self/mem at address 0, which is never mapped.
    await rm(written.segment(1));
    await symlink('/proc/self/mem', written.segment(1));
    expect(await seqsOf(spool)).toEqual([...range(0, 9), ...range(20, 39)]);
    expect(errors(lines, 'spool.segment_quarantined')).toMatchObject([{ file: written.segment(1), fromSeq: 10, toSeq: 19, error: { code: 'EIO' } }]);
    expect(spool.stats()).toMatchObject({ quarantinedSegments: 1, lostRecords: 10 });
  });

  it('quarantines the active segment by rolling away from it first; later appends are delivered', async () => {
    const written = await spoolOf(5);
    const { spool, lines } = await reopen(written.dir);
    await spool.append([payloadOf(5)]);
    const active = join(written.dir, 'segments', segmentName(5));
    await rm(active); // the writer keeps writing into the unlinked file until it rolls
    await mkdir(active);
    await spool.append([payloadOf(6)]);
    expect(await seqsOf(spool)).toEqual(range(0, 4));
    expect(errors(lines, 'spool.segment_quarantined')).toMatchObject([{ file: active, fromSeq: 5, toSeq: 6 }]);
    await spool.append([payloadOf(7)]);
    expect(await seqsOf(spool)).toEqual([7]);
    expect(spool.stats().lostRecords).toBe(2);
  });

  it('sets strays aside at start without a crash: a number past 2^48, a directory, a symlink, an unlisted file', async () => {
    const written = await spoolOf(25);
    const segments = join(written.dir, 'segments');
    await writeFile(join(segments, '99999999999999999999.seg'), 'x');
    await writeFile(join(segments, '00000281474976710656.seg'), ''); // 2^48: one past the last
    await mkdir(join(segments, segmentName(500)));
    await symlink('/etc/hostname', join(segments, segmentName(600)));
    await writeFile(join(segments, segmentName(15)), payloadOf(0)); // between listed segments
    const { spool, lines } = await reopen(written.dir);
    const strays = lines.filter((line) => line.event === 'spool.stray_file');
    expect(strays.map((line) => line.file).sort()).toEqual(
      ['99999999999999999999.seg', '00000281474976710656.seg', segmentName(500), segmentName(600), segmentName(15)].map((name) => join(segments, name)).sort(),
    );
    expect(spool.stats().strayFiles).toBe(5);
    expect((await readdir(join(written.dir, 'quarantine'))).length).toBe(5);
    expect((await spool.append([payloadOf(25)])).firstSeq).toBe(25);
    expect(await seqsOf(spool)).toEqual(range(0, 25));
    expect(spool.stats().lostRecords).toBe(0);
  });

  it('moves aside a directory in the way of the next segment, and appends go on', async () => {
    const written = await spoolOf(10); // segment 1 is next
    const { spool, lines } = await reopen(written.dir);
    await mkdir(join(written.dir, 'segments', segmentName(20)));
    for (let i = 10; i < 25; i++) await spool.append([payloadOf(i)]);
    expect(lines.filter((line) => line.event === 'spool.stray_file')).toMatchObject([{ file: join(written.dir, 'segments', segmentName(20)) }]);
    expect(await seqsOf(spool)).toEqual(range(0, 24));
  });

  it('reads a spool written before the manifest (format of 0.1), and writes one', async () => {
    const written = await spoolOf(30);
    await rm(join(written.dir, 'manifest.json'));
    const { spool, lines } = await reopen(written.dir);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(await seqsOf(spool)).toEqual(range(0, 29));
    await spool.close();
    expect(JSON.parse(await readFile(join(written.dir, 'manifest.json'), 'utf8'))).toEqual({ format: 1, segments: [0, 10, 20, 30], nextSeq: 30 });
  });

  it('refuses a spool of a newer format instead of guessing', async () => {
    const written = await spoolOf(3);
    await writeFile(join(written.dir, 'manifest.json'), JSON.stringify({ format: 2, segments: [0], nextSeq: 3 }));
    await expect(openSpool(written.dir)).rejects.toMatchObject({ code: 'SPOOL_FORMAT_UNKNOWN' });
  });
});
