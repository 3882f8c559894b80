// Dead letters are bounded and what their limits delete is counted: past deadLetter.maxBytes the file
// is rotated (the rotated one before it dropped, its lines counted and logged); a file whose newest
// line is past deadLetter.maxAgeSeconds is deleted the same way; with no limits nothing goes.
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { capturingLogger, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const envelope = (n: number): Envelope => ({ id: newEventId(), topic: 'refused', ts: Date.now(), ip: '::1', host: 'h', headers: newHeaders(), type: 'json', data: Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(100) })) });
const REFUSED = { code: 'MESSAGE_TOO_LARGE', message: 'too large for the broker' };

async function lines(path: string): Promise<Array<{ event: { data: { n: number } } }>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function setup(limits: { maxBytes: number; maxAgeSeconds: number }) {
  const temp = await tempDir('sparkngin-dead-letter-');
  cleanups.push(temp.remove);
  const { logger, lines: logged } = capturingLogger();
  return { file: new DeadLetterFile(join(temp.dir, 'dead-letter'), 'kafka', limits, logger), logged };
}

describe('dead-letter limits', () => {
  it('rotates at deadLetter.maxBytes, keeps the newest, and counts and logs what the rotation dropped', async () => {
    const { file, logged } = await setup({ maxBytes: 2000, maxAgeSeconds: 0 });
    for (let n = 0; n < 40; n++) await file.park(envelope(n), REFUSED);
    const current = await lines(file.path);
    const rotated = await lines(file.rotatedPath);
    const kept = [...rotated, ...current].map((line) => line.event.data.n);
    // The newest are kept, in order, and nothing between them is missing.
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 40 - kept.length + i));
    expect(file.droppedRecords).toBe(40 - kept.length);
    expect(file.droppedRecords).toBeGreaterThan(0);
    expect(file.bytes).toBeLessThanOrEqual(2 * 2000);
    const drops = logged.filter((line) => line.event === 'dead_letter.dropped');
    expect(drops.reduce((sum, line) => sum + line.records, 0)).toBe(file.droppedRecords);
    expect(drops[0]).toMatchObject({ level: 'warn', file: file.rotatedPath, reason: 'deadLetter.maxBytes (2000) reached' });
  });

  it('deletes the files whose newest line is past deadLetter.maxAgeSeconds, counted', async () => {
    const { file, logged } = await setup({ maxBytes: 0, maxAgeSeconds: 600 });
    for (let n = 0; n < 3; n++) await file.park(envelope(n), REFUSED);
    await file.sweep();
    expect(file.droppedRecords).toBe(0);
    expect(file.bytes).toBeGreaterThan(0);
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(file.path, hourAgo, hourAgo);
    await file.sweep();
    expect(file.droppedRecords).toBe(3);
    expect(file.bytes).toBe(0);
    expect(await lines(file.path)).toEqual([]);
    expect(logged.find((line) => line.event === 'dead_letter.dropped')).toMatchObject({ records: 3, reason: 'older than deadLetter.maxAgeSeconds (600)' });
    // Parking goes on in a new file.
    await file.park(envelope(9), REFUSED);
    expect((await lines(file.path)).map((line) => line.event.data.n)).toEqual([9]);
  });

  it('keeps everything without limits', async () => {
    const { file } = await setup({ maxBytes: 0, maxAgeSeconds: 0 });
    for (let n = 0; n < 30; n++) await file.park(envelope(n), REFUSED);
    await file.sweep(Date.now() + 10 * 365 * 86400_000);
    expect((await lines(file.path)).map((line) => line.event.data.n)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(file.droppedRecords).toBe(0);
  });
});
