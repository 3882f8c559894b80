// Property: whatever is done to a written spool while the daemon is down (segments cut, bytes
// flipped, segments deleted or replaced by directories, stray files, a cursor anywhere), reopening it
// never throws, every record that is still intact on disk is delivered once and in order, every
// other one from the sink's position on is logged as lost with its range, and the lost count is
// exactly what the log names. Then appends go on past every number ever used.
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStep } from '../../src/spool/record';
import { segmentName } from '../../src/spool/segment-files';
import { capturingLogger, drain, openSpool, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Mutation =
  | { kind: 'truncate'; segment: number; at: number }
  | { kind: 'flip'; segment: number; at: number; mask: number }
  | { kind: 'delete'; segment: number }
  | { kind: 'directory'; segment: number }
  | { kind: 'stray'; name: 'huge' | 'past-u48' | 'between' | 'after'; as: 'file' | 'empty' | 'directory' | 'symlink'; at: number };

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const segmentIndex = fc.nat({ max: 50 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), segment: segmentIndex, at: fraction }),
  fc.record({ kind: fc.constant('flip' as const), segment: segmentIndex, at: fraction, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), segment: segmentIndex }),
  fc.record({ kind: fc.constant('directory' as const), segment: segmentIndex }),
  fc.record({
    kind: fc.constant('stray' as const),
    name: fc.constantFrom('huge' as const, 'past-u48' as const, 'between' as const, 'after' as const),
    as: fc.constantFrom('file' as const, 'empty' as const, 'directory' as const, 'symlink' as const),
    at: fraction,
  }),
);

interface Placed {
  seq: number;
  file: string;
  start: number;
  end: number;
}

/** Where every record landed, read back from the files as written. */
async function placeRecords(segmentsDir: string): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (const name of (await readdir(segmentsDir)).sort()) {
    const file = join(segmentsDir, name);
    const bytes = await readFile(file);
    for (let at = 0; at < bytes.length; ) {
      const step = parseStep(bytes, at, true);
      if (step.kind !== 'record') throw new Error(`unexpected ${step.kind} in a freshly written spool`);
      placed.push({ seq: step.record.seq, file, start: at, end: step.record.end });
      at = step.record.end;
    }
  }
  return placed;
}

describe('spool recovery fuzzing', () => {
  it('property: damage of any kind is delivered around, counted and logged, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 200, max: 2000 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
        async (sizes, segmentBytes, mutations, cursor) => {
          const temp = await tempDir();
          cleanups.push(temp.remove);
          const options = { segmentBytes, fsync: 'never' as const };
          const writer = await openSpool(temp.dir, options);
          for (const [i, size] of sizes.entries()) await writer.append([Buffer.alloc(size, (i * 7 + 1) % 251)]);
          await writer.close();
          const segmentsDir = join(temp.dir, 'segments');
          const segments = (await readdir(segmentsDir)).sort().map((name) => join(segmentsDir, name));
          const placed = await placeRecords(segmentsDir);
          const total = sizes.length;

          // Damage, remembering which bytes of which file no longer hold what was written.
          const gone = new Set<string>();
          const cutAt = new Map<string, number>();
          // Each flipped byte with the XOR of the masks applied to it: two flips of one byte by one
          // mask give back what was written, and that record is intact.
          const flipped = new Map<string, { file: string; at: number; mask: number }>();
          for (const change of mutations) {
            const file = segments[change.kind === 'stray' ? 0 : change.segment % segments.length]!;
            if (change.kind !== 'stray' && gone.has(file)) continue;
            if (change.kind === 'truncate') {
              const length = Math.floor((await stat(file)).size * change.at);
              await truncate(file, length);
              cutAt.set(file, Math.min(length, cutAt.get(file) ?? length));
            } else if (change.kind === 'flip') {
              const bytes = await readFile(file);
              if (bytes.length === 0) continue;
              const at = Math.floor(bytes.length * change.at);
              bytes[at] = bytes[at]! ^ change.mask;
              await writeFile(file, bytes);
              const key = `${file}\0${at}`;
              flipped.set(key, { file, at, mask: (flipped.get(key)?.mask ?? 0) ^ change.mask });
            } else if (change.kind === 'delete' || change.kind === 'directory') {
              await rm(file);
              if (change.kind === 'directory') await mkdir(file);
              gone.add(file);
            } else {
              const seq = { huge: 10n ** 19n * 9n, 'past-u48': 2n ** 48n, between: BigInt(Math.floor(total * change.at)), after: BigInt(total + 1 + Math.floor(change.at * 100)) }[change.name];
              const path = join(segmentsDir, `${String(seq).padStart(20, '0')}.seg`);
              // lstat: a symlink left dangling by a deleted segment still takes the name.
              if (segments.includes(path) || (await lstat(path).then(() => true, () => false))) continue;
              if (change.as === 'directory') await mkdir(path);
              else if (change.as === 'symlink') await symlink(segments[0]!, path);
              else await writeFile(path, change.as === 'empty' ? '' : Buffer.alloc(100, 0x53));
            }
          }
          if (cursor !== undefined) await writeFile(join(temp.dir, 'cursors', 'k.json'), JSON.stringify({ nextSeq: cursor }));

          const { logger, lines } = capturingLogger();
          const spool = await openSpool(temp.dir, { ...options, logger });
          cleanups.push(() => spool.close());
          const delivered = (await drain(spool, await spool.openReader('k'))).map((record) => record.seq);

          const intact = (record: Placed) =>
            !gone.has(record.file) && record.end <= (cutAt.get(record.file) ?? Infinity) && ![...flipped.values()].some(({ file, at, mask }) => mask !== 0 && file === record.file && at >= record.start && at < record.end);
          const from = cursor === undefined || cursor > total ? 0 : cursor;
          const expected = placed.filter((record) => record.seq >= from && intact(record)).map((record) => record.seq);
          expect(delivered).toEqual(expected);

          const lost = new Set<number>();
          for (const line of lines.filter((l) => l.event === 'spool.records_lost')) {
            expect(line.level).toBe('error');
            for (let seq = line.fromSeq as number; seq <= (line.toSeq as number); seq++) lost.add(seq);
          }
          for (let seq = from; seq < total; seq++) expect(lost.has(seq) !== delivered.includes(seq), `record ${seq}: delivered or lost, not both, not neither`).toBe(true);
          expect(spool.stats().lostRecords).toBe(lost.size);

          const next = await spool.append([Buffer.from('after')]);
          expect(next.firstSeq).toBeGreaterThanOrEqual(total);
          expect((await drain(spool, await spool.openReader('k'))).map((record) => record.seq)).toEqual([next.firstSeq]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
