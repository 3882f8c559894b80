import { appendFile, cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SpoolFullError } from '../../src/errors';
import { HEADER_BYTES, parseStep, writeRecord } from '../../src/spool/record';
import { openSpool, payloadOf, readAll, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freshDir() {
  const temp = await tempDir();
  cleanups.push(temp.remove);
  return temp.dir;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'segments'))).sort().map((name) => join(dir, 'segments', name));
}

describe('spool', () => {
  it('frames a record with the CRC-32 of its length, sequence and payload (the on-disk format)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (bytes, seq) => {
        const payload = Buffer.from(bytes);
        const out = Buffer.alloc(HEADER_BYTES + payload.length);
        writeRecord(out, 0, seq, payload);
        expect(out.readUInt32LE(16)).toBe(crc32(Buffer.concat([out.subarray(4, 16), payload])));
        const step = parseStep(out, 0, true);
        expect(step.kind === 'record' && step.record.seq === seq && step.record.payload.equals(payload)).toBe(true);
      }),
    );
  });

  it('appends in groups, numbers records in order, and a reader gets them all back', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => spool.append([payloadOf(2 * i), payloadOf(2 * i + 1)])));
    expect(results[0]).toEqual({ firstSeq: 0, lastSeq: 1 });
    expect(results[49]).toEqual({ firstSeq: 98, lastSeq: 99 });
    // 50 concurrent appends were committed in far fewer syncs: that is the group commit.
    expect(spool.stats().syncs).toBeLessThan(50);
    const reader = await spool.openReader('file');
    const records = await readAll(reader, 100);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(records[7]!.text).toBe(payloadOf(7).toString());
    await spool.close();
  });

  it('rolls segments at segmentBytes and never splits a record across files', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 300; i++) await spool.append([payloadOf(i, 100)]);
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files.slice(0, -1)) {
      const size = (await stat(file)).size;
      expect(size % (HEADER_BYTES + 100)).toBe(0);
      expect(size).toBeLessThanOrEqual(4096);
    }
    const reader = await spool.openReader('k');
    expect((await readAll(reader, 300)).length).toBe(300);
    await spool.close();
  });

  it('resumes each reader from its durable cursor after a restart', async () => {
    const dir = await freshDir();
    let spool = await openSpool(dir);
    for (let i = 0; i < 10; i++) await spool.append([payloadOf(i)]);
    let reader = await spool.openReader('kafka');
    const first = await reader.read(4, 1 << 20);
    reader.commit(first.at(-1)!.seq + 1);
    await spool.close();

    spool = await openSpool(dir);
    reader = await spool.openReader('kafka');
    const rest = await readAll(reader, 6);
    expect(rest.map((r) => r.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    const fresh = await spool.openReader('new-sink');
    expect((await readAll(fresh, 10)).length).toBe(10);
    const next = await spool.append([payloadOf(10)]);
    expect(next.firstSeq).toBe(10);
    await spool.close();
  });

  it('cuts a torn tail at start and keeps every intact record before it', async () => {
    const dir = await freshDir();
    const running = await openSpool(dir);
    for (let i = 0; i < 20; i++) await running.append([payloadOf(i)]);
    // What kill -9 leaves: the files as they are now, with a manifest not yet past these records.
    const crashed = await freshDir();
    await cp(dir, crashed, { recursive: true });
    await running.close();
    const [segment] = await segmentFiles(crashed);
    const size = (await stat(segment!)).size;
    await truncate(segment!, size - 7); // the last record loses its end, as in a crash mid-write

    const spool = await openSpool(crashed);
    expect((await stat(segment!)).size).toBe(size - (HEADER_BYTES + 40));
    const reader = await spool.openReader('k');
    const records = await readAll(reader, 19);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect((await spool.append([payloadOf(99)])).firstSeq).toBe(19);
    expect(spool.stats().lostRecords).toBe(0); // a torn write was never acknowledged
    await spool.close();
  });

  it('counts a cut-off record the manifest vouches for as lost, and never reuses its number', async () => {
    const dir = await freshDir();
    let spool = await openSpool(dir);
    for (let i = 0; i < 20; i++) await spool.append([payloadOf(i)]);
    await spool.close(); // the manifest now says records up to 19 were written
    const [segment] = await segmentFiles(dir);
    await truncate(segment!, (await stat(segment!)).size - 7);

    spool = await openSpool(dir);
    expect(spool.stats()).toMatchObject({ lostRecords: 1, lostRanges: 1, recentLosses: [{ fromSeq: 19, toSeq: 19, reason: 'damaged' }] });
    const reader = await spool.openReader('k');
    expect((await readAll(reader, 19)).length).toBe(19);
    expect((await spool.append([payloadOf(99)])).firstSeq).toBe(20);
    const records = await readAll(reader, 1);
    expect(records.map((r) => r.seq)).toEqual([20]);
    expect(spool.stats().readers).toEqual([{ sink: 'k', nextSeq: 0, skippedRecords: 1 }]);
    expect(spool.stats().lostRecords).toBe(1); // met again by the reader: counted once
    await spool.close();
  });

  it('skips a record with a flipped byte, reports it, and delivers every intact record', async () => {
    const dir = await freshDir();
    let spool = await openSpool(dir);
    for (let i = 0; i < 20; i++) await spool.append([payloadOf(i)]);
    await spool.close();
    const [segment] = await segmentFiles(dir);
    const bytes = await readFile(segment!);
    const recordSize = HEADER_BYTES + 40;
    const flip = (at: number, mask: number) => (bytes[at] = bytes[at]! ^ mask);
    flip(5 * recordSize + HEADER_BYTES + 3, 0x20); // inside record 5's payload
    flip(11 * recordSize + 4, 0x01); // record 11's length field
    await writeFile(segment!, bytes);

    spool = await openSpool(dir);
    expect(spool.stats().damagedStretches).toBe(2);
    const reader = await spool.openReader('k');
    const seqs = (await readAll(reader, 18)).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 5 && i !== 11));
    await spool.close();
  });

  it('treats garbage appended after the last record as a torn tail', async () => {
    const dir = await freshDir();
    let spool = await openSpool(dir);
    for (let i = 0; i < 5; i++) await spool.append([payloadOf(i)]);
    await spool.close();
    const [segment] = await segmentFiles(dir);
    await appendFile(segment!, Buffer.from('SPK1 garbage that is not a record'));
    spool = await openSpool(dir);
    expect((await readAll(await spool.openReader('k'), 5)).length).toBe(5);
    await spool.close();
  });

  it('refuses appends with SpoolFullError under reject, and takes them again once sinks catch up', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 4096, maxBytes: 3 * 4096 });
    const reader = await spool.openReader('slow');
    let accepted = 0;
    let refusal: unknown;
    for (let i = 0; i < 1000 && refusal === undefined; i++) {
      try {
        await spool.append([payloadOf(i, 200)]);
        accepted++;
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(SpoolFullError);
    expect((refusal as SpoolFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(spool.isFull()).toBe(true);
    const records = await readAll(reader, accepted);
    expect(records.length).toBe(accepted); // nothing accepted was lost
    reader.commit(records.at(-1)!.seq + 1);
    await expect(spool.append([payloadOf(5000, 200)])).resolves.toBeDefined();
    expect(spool.stats().droppedRecords).toBe(0);
    await spool.close();
  });

  it('drops the oldest segment under drop-oldest, counts the loss, and moves readers past it', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 4096, maxBytes: 3 * 4096, fullPolicy: 'drop-oldest' });
    const reader = await spool.openReader('slow');
    for (let i = 0; i < 200; i++) await spool.append([payloadOf(i, 200)]);
    const stats = spool.stats();
    expect(stats.droppedRecords).toBeGreaterThan(0);
    expect(stats.bytes).toBeLessThanOrEqual(3 * 4096);
    const records = await readAll(reader, 200 - stats.droppedRecords);
    expect(records[0]!.seq).toBe(stats.droppedRecords);
    expect(records.at(-1)!.seq).toBe(199);
    await spool.close();
  });

  it('deletes a segment once every sink has passed it, not before', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 4096 });
    const fast = await spool.openReader('fast');
    const slow = await spool.openReader('slow');
    for (let i = 0; i < 100; i++) await spool.append([payloadOf(i, 200)]);
    const before = (await segmentFiles(dir)).length;
    fast.commit(100);
    await spool.maintain();
    expect((await segmentFiles(dir)).length).toBe(before);
    slow.commit(100);
    await spool.maintain();
    expect((await segmentFiles(dir)).length).toBe(1);
    expect(JSON.parse(await readFile(join(dir, 'cursors', 'slow.json'), 'utf8'))).toEqual({ nextSeq: 100 });
    await spool.close();
  });

  it('deletes nothing for the readers named at open until each has joined (a maintenance pass before the sinks\' threads attach)', async () => {
    const dir = await freshDir();
    const first = await openSpool(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) await first.append([payloadOf(i, 200)]);
    await first.close();
    const spool = await openSpool(dir, { segmentBytes: 4096, readers: ['late'] });
    const segments = (await segmentFiles(dir)).length;
    await spool.maintain(); // as the timer may, before the daemon attached the sink's reader
    expect((await segmentFiles(dir)).length).toBe(segments);
    const late = await spool.openReader('late');
    expect((await readAll(late, 100)).map((record) => record.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    late.commit(100);
    await spool.maintain();
    expect((await segmentFiles(dir)).length).toBe(1);
    await spool.close();
  });

  it('reads batches sized to their records: uniform records still fill maxRecords, a record over 1 MiB after tiny ones comes whole', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 8 << 20, maxBytes: 64 << 20 });
    const payloads = [
      ...Array.from({ length: 3000 }, (_, i) => payloadOf(i, 30)),
      Buffer.alloc(1536 * 1024, 7),
      ...Array.from({ length: 3000 }, (_, i) => payloadOf(3001 + i, 200)),
    ];
    for (let i = 0; i < payloads.length; i += 500) await spool.append(payloads.slice(i, i + 500));
    const reader = await spool.openReader('k');
    const batches: number[] = [];
    const got: Buffer[] = [];
    while (got.length < payloads.length) {
      const records = await reader.read(2000, 1 << 20);
      batches.push(records.length);
      for (const record of records) got.push(Buffer.from(record.payload));
    }
    expect(got.length).toBe(payloads.length);
    for (const [i, payload] of payloads.entries()) expect(got[i]!.equals(payload), `record ${i}`).toBe(true);
    // The first 2,000 tiny and the first 2,000 of 200 bytes (read after the huge one moved the estimate) are full batches.
    expect(batches[0]).toBe(2000);
    expect(batches).toContain(1);
    expect(batches.filter((n) => n === 2000).length).toBeGreaterThanOrEqual(2);
    await spool.close();
  });

  it('property: records of mixed sizes (empty to over 1 MiB) read back exactly, in order, within each read’s limits', async () => {
    const size = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) },
      { weight: 3, arbitrary: fc.integer({ min: 65, max: 70_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: (1 << 20) + 1, max: (1 << 20) + 300_000 }) },
    );
    const limits = fc.record({ maxRecords: fc.integer({ min: 1, max: 300 }), maxBytes: fc.integer({ min: 1, max: 1 << 20 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(size, { minLength: 1, maxLength: 60 }), fc.array(limits, { minLength: 1, maxLength: 8 }), async (sizes, reads) => {
        const dir = await freshDir();
        const spool = await openSpool(dir, { segmentBytes: 4 << 20, maxBytes: 256 << 20 });
        const payloads = sizes.map((n, i) => Buffer.alloc(n, `${i}:`));
        for (const payload of payloads) await spool.append([payload]);
        const reader = await spool.openReader('k');
        const got: Buffer[] = [];
        for (let call = 0; got.length < payloads.length; call++) {
          const { maxRecords, maxBytes } = reads[call % reads.length]!;
          const records = await reader.read(maxRecords, maxBytes);
          expect(records.length).toBeGreaterThan(0);
          expect(records.length).toBeLessThanOrEqual(maxRecords);
          // About maxBytes: the last record may pass it, the ones before it never reach it.
          expect(records.slice(0, -1).reduce((sum, r) => sum + r.payload.length, 0)).toBeLessThan(maxBytes);
          for (const record of records) {
            expect(record.seq).toBe(got.length);
            got.push(Buffer.from(record.payload));
          }
        }
        for (const [i, payload] of payloads.entries()) expect(got[i]!.equals(payload)).toBe(true);
        await spool.close();
      }),
      { numRuns: 25 },
    );
  });

  it('property: after a crash cuts the newest segment anywhere, exactly the whole records before the cut survive', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), async (sizes, where) => {
        const dir = await freshDir();
        let spool = await openSpool(dir, { segmentBytes: 1 << 20 });
        for (const [i, size] of sizes.entries()) await spool.append([Buffer.alloc(size, i % 251)]);
        await spool.close();
        const [segment] = await segmentFiles(dir);
        const total = (await stat(segment!)).size;
        const cut = Math.floor(total * where);
        await truncate(segment!, cut);
        let end = 0;
        const survivors = sizes.filter((size) => (end += HEADER_BYTES + size) <= cut).length;
        spool = await openSpool(dir, { segmentBytes: 1 << 20 });
        const records = survivors === 0 ? [] : await readAll(await spool.openReader('k'), survivors);
        expect(records.map((r) => r.seq)).toEqual(Array.from({ length: survivors }, (_, i) => i));
        await spool.close();
      }),
      { numRuns: 40 },
    );
  });
});
