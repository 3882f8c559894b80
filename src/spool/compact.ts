// `sparkngin spool compact DIR`: frees, offline, the part of a spool every sink has delivered. The
// daemon deletes a segment once every cursor is past it, but never the segment being written; on a
// quiet instance that one can hold up to spool.segmentBytes of delivered events for days, and after
// a long outage an operator may want the room back before starting the daemon again.
//
// What counts as delivered: records below every sink's cursor. The sinks are those with a cursor file
// (the daemon writes one for each sink at its first start) and those the configuration enables, when
// it is given; a sink without a usable cursor would be sent everything again, so then nothing is
// freed. Nothing at or past the lowest cursor is touched.
//
// How, each step leaving a spool the daemon reads right (README.md, Recovery):
//   1. segments wholly below the lowest cursor: unlisted in the manifest, then deleted (a crash in
//      between leaves files below the manifest's first segment: deleted as leftovers at start);
//   2. the segment holding the lowest cursor, when it holds delivered records before it and every
//      record in it is intact: its records from the cursor on are copied to a new segment named by
//      the cursor (temp file, fsync, rename into segments/, fsync), the manifest then lists the new
//      segment instead of the old, and the old is deleted. A crash before the manifest leaves the
//      copy unlisted (set aside as a stray at start, the old segment still whole); after it, the old
//      one is below the manifest's first segment (deleted at start).
// The data dir is locked meanwhile, as by the daemon: compact refuses to run beside it.
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseCursor } from './cursor-store';
import { syncDir } from './durable-file';
import { loadManifest, saveManifest } from './manifest';
import { HEADER_BYTES, RECORD_MAGIC } from './record';
import { type SegmentScan, scanSegment } from './segment-scan';
import { listSegments, segmentName } from './segment-files';

export interface CompactReport {
  spoolDir: string;
  /** Every record below this is delivered to every sink (undefined: nothing could be freed, see `why`). */
  deliveredBelow?: number;
  /** The sinks whose cursors decided it, with their position (or the reason they hold everything). */
  sinks: Array<{ sink: string; nextSeq?: number; problem?: string }>;
  deletedSegments: string[];
  /** The segment whose delivered head was cut: its old and new name and the records dropped. */
  cut?: { from: string; to: string; records: number };
  bytesBefore: number;
  bytesAfter: number;
  /** Why nothing (or less) was freed. */
  notes: string[];
  dryRun: boolean;
}

async function readCursors(dir: string): Promise<Map<string, { nextSeq?: number; problem?: string }>> {
  const found = new Map<string, { nextSeq?: number; problem?: string }>();
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
  for (const name of names) {
    const sink = decodeURIComponent(name.slice(0, -'.json'.length));
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    const loaded = text === undefined ? undefined : parseCursor(text);
    found.set(sink, loaded?.kind === 'cursor' ? { nextSeq: loaded.cursor.nextSeq } : { problem: 'its cursor is unusable: the daemon sends it everything again' });
  }
  return found;
}

/** Byte offset in `path` of the record numbered `seq`: a walk over the headers of a segment known to be intact. */
async function offsetOf(path: string, seq: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    for (let at = 0; ; ) {
      const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, at);
      if (bytesRead < HEADER_BYTES || header.readUInt32LE(0) !== RECORD_MAGIC) throw new Error(`${path}: no record ${seq} where the scan found one`);
      if (header.readUIntLE(8, 6) >= seq) return at;
      at += HEADER_BYTES + header.readUInt32LE(4);
    }
  } finally {
    await handle.close();
  }
}

/** Copies bytes [from, to) of `source` into a new file `target`, synced. */
async function copyRange(source: string, from: number, to: number, target: string): Promise<void> {
  const input = await open(source, 'r');
  const output = await open(target, 'w');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(1, to - from)));
    for (let at = from; at < to; ) {
      const { bytesRead } = await input.read(chunk, 0, Math.min(chunk.length, to - at), at);
      if (bytesRead === 0) throw new Error(`${source} ended at byte ${at}, before ${to}`);
      await output.write(chunk, 0, bytesRead);
      at += bytesRead;
    }
    await output.sync();
  } finally {
    await Promise.all([input.close(), output.close()]);
  }
}

/** Frees the delivered head of the spool in `spoolDir`; `configuredSinks` are the sinks the daemon's configuration enables. */
export async function compactSpool(spoolDir: string, options: { configuredSinks?: readonly string[]; dryRun?: boolean } = {}): Promise<CompactReport> {
  const segmentsDir = join(spoolDir, 'segments');
  const loaded = await loadManifest(spoolDir);
  const listing = await listSegments(segmentsDir);
  const report: CompactReport = { spoolDir, sinks: [], deletedSegments: [], bytesBefore: 0, bytesAfter: 0, notes: [], dryRun: options.dryRun === true };
  if (loaded.kind === 'unusable') {
    report.notes.push(`the manifest is unusable (${loaded.why}): start the daemon once (it writes a new one), then compact`);
    return report;
  }
  const manifest = loaded.kind === 'manifest' ? loaded.manifest : undefined;
  const listed = manifest === undefined ? undefined : new Set(manifest.segments);
  const segments = listing.segments.filter((file) => listed === undefined || listed.has(file.firstSeq));
  report.bytesBefore = report.bytesAfter = segments.reduce((sum, file) => sum + file.size, 0);
  const newest = segments.at(-1);
  const newestScan = newest === undefined ? undefined : await scanSegment(newest.path, { expectFirstSeq: newest.firstSeq });
  const nextSeq = Math.max(manifest?.nextSeq ?? 0, newest?.firstSeq ?? 0, newestScan?.lastSeq === undefined ? 0 : newestScan.lastSeq + 1);

  const cursors = await readCursors(join(spoolDir, 'cursors'));
  for (const sink of options.configuredSinks ?? []) if (!cursors.has(sink)) cursors.set(sink, { problem: 'no cursor yet: it gets everything spooled' });
  report.sinks = [...cursors].map(([sink, cursor]) => ({ sink, ...cursor })).sort((a, b) => a.sink.localeCompare(b.sink));
  for (const sink of report.sinks) if (sink.nextSeq !== undefined && sink.nextSeq > nextSeq) Object.assign(sink, { problem: 'its cursor is past the end of the spool: reset at the next start, it gets everything again' });
  if (report.sinks.length === 0) {
    report.notes.push('no sink has a cursor: nothing is delivered (give --config to name the sinks)');
    return report;
  }
  const blocked = report.sinks.find((sink) => sink.problem !== undefined);
  if (blocked) {
    report.notes.push(`sink ${blocked.sink}: ${blocked.problem}`);
    return report;
  }
  const floor = Math.min(...report.sinks.map((sink) => sink.nextSeq!));
  report.deliveredBelow = floor;

  // 1. Whole segments below the floor.
  const keep = segments.filter((_, index) => (segments[index + 1]?.firstSeq ?? nextSeq) > floor);
  const gone = segments.filter((file) => !keep.includes(file));
  // 2. The delivered head of the first segment kept.
  const first = keep[0];
  let cut: { from: (typeof segments)[number]; toSeq: number; offset: number; scan: SegmentScan } | undefined;
  if (first !== undefined && first.firstSeq < floor) {
    const scan = first === newest ? newestScan! : await scanSegment(first.path, { expectFirstSeq: first.firstSeq });
    if (scan.damaged.length > 0 || scan.gaps.length > 0 || (scan.tailBytes > 0 && first !== newest) || scan.outOfOrder > 0) {
      report.notes.push(`${basename(first.path)} is damaged (sparkngin spool verify says where): its delivered head is kept`);
    } else if (scan.lastSeq !== undefined && scan.lastSeq >= floor) {
      cut = { from: first, toSeq: floor, offset: await offsetOf(first.path, floor), scan };
    }
  }
  report.deletedSegments = gone.map((file) => basename(file.path));
  if (cut) report.cut = { from: basename(cut.from.path), to: segmentName(floor), records: floor - cut.from.firstSeq };
  report.bytesAfter = report.bytesBefore - gone.reduce((sum, file) => sum + file.size, 0) - (cut?.offset ?? 0);
  if (cut && cut.scan.tailBytes > 0) report.bytesAfter -= cut.scan.tailBytes;
  if (options.dryRun || (gone.length === 0 && cut === undefined)) return report;

  const remaining = keep.map((file) => file.firstSeq);
  if (gone.length > 0) {
    await saveManifest(spoolDir, { segments: remaining, nextSeq });
    for (const file of gone) await rm(file.path, { force: true });
    await syncDir(segmentsDir);
  }
  if (cut) {
    const temp = join(spoolDir, '.compact.tmp');
    const target = join(segmentsDir, segmentName(floor));
    await copyRange(cut.from.path, cut.offset, cut.scan.validEnd, temp);
    await rename(temp, target);
    await syncDir(segmentsDir);
    await saveManifest(spoolDir, { segments: [floor, ...remaining.slice(1)], nextSeq });
    await rm(cut.from.path, { force: true });
    await syncDir(segmentsDir);
  }
  return report;
}
