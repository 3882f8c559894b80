// Start-up: what the spool holds, compared with what it should hold. Strays are moved aside; the
// manifest (manifest.ts) names the segments that must be there and a point the records reached, so
// a segment deleted from outside or a damaged end is accounted as lost with its exact range. Only
// the newest segment is scanned record by record (older ones were synced before the writer moved on,
// and readers check every record's CRC as they go): its torn tail is cut so that appends resume
// after intact data, and numbering resumes past every number ever acknowledged.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../ops/log';
import type { SpoolDamage } from './damage';
import { truncateDurably } from './durable-file';
import { loadManifest, type Manifest } from './manifest';
import { scanSegment } from './segment-scan';
import { listSegments, quarantine, type SegmentFile, segmentName } from './segment-files';

export interface Recovered {
  /** The segments to use, in order; the last one's size is cut to its intact end. */
  segments: SegmentFile[];
  /** Where numbering resumes: past every intact record and everything the manifest vouches for. */
  nextSeq: number;
  /** The first number the spool still means to hold; below it, records were deleted on purpose. */
  floorSeq: number;
}

interface Context {
  spoolDir: string;
  segmentsDir: string;
  damage: SpoolDamage;
  logger: Logger;
}

export async function recoverSegments(context: Context): Promise<Recovered> {
  const { spoolDir, segmentsDir, damage, logger } = context;
  const loaded = await loadManifest(spoolDir);
  if (loaded.kind === 'unusable') {
    logger.warn('spool.manifest_unusable', { dir: spoolDir, why: loaded.why, action: 'start-up checks that need it are skipped; it is written anew' });
  }
  const manifest = loaded.kind === 'manifest' ? loaded.manifest : undefined;
  const listing = await listSegments(segmentsDir);
  for (const stray of listing.strays) damage.noteStray(stray.path, stray.why, await quarantine(spoolDir, stray.path));
  let segments = listing.segments;
  if (manifest) segments = await reconcile(segments, manifest, context);
  else if (segments.length > 0) segments = await dropStrayNewest(segments, context);

  const expected = manifest?.nextSeq ?? 0;
  const newest = segments.at(-1);
  if (newest === undefined) return { segments, nextSeq: expected, floorSeq: manifest?.segments[0] ?? expected };
  const scan = await scanSegment(newest.path, { expectFirstSeq: newest.firstSeq });
  if (scan.tailBytes > 0) {
    await truncateDurably(newest.path, scan.validEnd);
    logger.warn('spool.torn_tail_truncated', { file: newest.path, bytes: scan.tailBytes, keptRecords: scan.records });
  }
  for (const stretch of scan.damaged) damage.noteStretch(newest.path, stretch.from, stretch.to);
  for (const gap of scan.gaps) damage.noteLoss({ ...gap, reason: 'damaged', file: newest.path });
  newest.size = scan.validEnd;
  // Past the intact records, and never below the segment's own name (its file would be reused).
  const dataNext = Math.max(scan.lastSeq === undefined ? newest.firstSeq : scan.lastSeq + 1, newest.firstSeq + (scan.records > 0 ? 1 : 0));
  if (dataNext < expected) {
    // Records the manifest vouches for (acknowledged, and synced unless fsync is `never`) are gone.
    damage.noteLoss({ fromSeq: dataNext, toSeq: expected - 1, reason: 'damaged', file: newest.path, offset: scan.validEnd });
  }
  if (scan.records === 0) {
    // Reuse an empty newest segment's name instead of leaving it behind.
    segments.pop();
    await rm(newest.path, { force: true });
  }
  return { segments, nextSeq: Math.max(dataNext, expected), floorSeq: manifest ? (manifest.segments[0] ?? expected) : (segments[0]?.firstSeq ?? dataNext) };
}

/**
 * Files against the manifest: unlisted ones below its first segment are leftovers of a deletion a
 * crash interrupted (deleted now); other unlisted ones are strays (the writer lists a segment before
 * it writes into it), moved aside unless empty; listed ones that are gone are lost records.
 */
async function reconcile(files: SegmentFile[], manifest: Manifest, { spoolDir, segmentsDir, damage, logger }: Context): Promise<SegmentFile[]> {
  const listed = new Set(manifest.segments);
  const floor = manifest.segments[0] ?? manifest.nextSeq;
  const kept: SegmentFile[] = [];
  for (const file of files) {
    if (listed.has(file.firstSeq)) kept.push(file);
    else if (file.firstSeq < floor || file.size === 0) {
      await rm(file.path, { force: true });
      logger.info('spool.leftover_removed', { file: file.path, why: file.size === 0 ? 'empty and not in the manifest' : 'below the manifest\'s first segment: its deletion was interrupted' });
    } else {
      damage.noteStray(file.path, 'not in the manifest (the spool did not write it)', await quarantine(spoolDir, file.path));
    }
  }
  const present = new Set(kept.map((file) => file.firstSeq));
  const bounds = [...manifest.segments, Math.max(manifest.nextSeq, manifest.segments.at(-1) ?? 0)];
  let missingFrom: number | undefined;
  for (let i = 0; i < manifest.segments.length; i++) {
    const seq = manifest.segments[i]!;
    if (!present.has(seq)) missingFrom ??= seq;
    const runEnds = present.has(bounds[i + 1]!) || i + 1 === manifest.segments.length;
    if (missingFrom !== undefined && runEnds) {
      const toSeq = bounds[i + 1]! - 1;
      if (toSeq >= missingFrom) damage.noteLoss({ fromSeq: missingFrom, toSeq, reason: 'missing', file: join(segmentsDir, segmentName(missingFrom)) });
      missingFrom = undefined;
    }
  }
  return kept;
}

/**
 * Without a manifest (a spool from before it), the newest file is trusted as the writer's, but an
 * empty or wholly damaged one that does not follow the one before it cannot be: set it aside, or a
 * stray name would move numbering (and every reader) past records that were never lost.
 */
async function dropStrayNewest(segments: SegmentFile[], { spoolDir, damage }: Context): Promise<SegmentFile[]> {
  while (segments.length > 1) {
    const newest = segments.at(-1)!;
    const previous = segments.at(-2)!;
    const [scan, before] = await Promise.all([scanSegment(newest.path), scanSegment(previous.path)]);
    if (scan.records > 0 || before.lastSeq === undefined || newest.firstSeq === before.lastSeq + 1) break;
    segments.pop();
    if (newest.size === 0) await rm(newest.path, { force: true });
    else damage.noteStray(newest.path, `holds no intact record and does not follow ${previous.path}`, await quarantine(spoolDir, newest.path));
  }
  return segments;
}
