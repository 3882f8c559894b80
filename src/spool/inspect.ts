// The spool examined offline, for `sparkngin spool verify` and `spool info`: read-only, nothing is
// moved, cut or rewritten (the daemon does that at its next start). `verify` reads every record and
// checks its CRC; with dense sequence numbers, every number missing between intact records is a
// loss, named by the segment and offset where it shows. `info` reads only names, sizes, the manifest,
// the cursors and the newest segment.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseCursor } from './cursor-store';
import { type LoadedManifest, loadManifest } from './manifest';
import { type ByteStretch, type SegmentScan, scanSegment } from './segment-scan';
import { listSegments, type SegmentFile, type StrayFile } from './segment-files';

export interface SpoolLocation {
  /** The spool folder (holding segments/, cursors/, manifest.json). */
  spoolDir: string;
  /** The data dir it belongs to (holding .lock). */
  dataDir: string;
}

/** DIR may be the data dir (with spool/ in it) or the spool folder itself. */
export async function locateSpool(dir: string): Promise<SpoolLocation | undefined> {
  const isDir = (path: string) => stat(path).then((info) => info.isDirectory(), () => false);
  if (await isDir(join(dir, 'spool', 'segments'))) return { spoolDir: join(dir, 'spool'), dataDir: dir };
  if (await isDir(join(dir, 'segments'))) return { spoolDir: dir, dataDir: dirname(dir) };
  return undefined;
}

export interface SegmentReport {
  name: string;
  path: string;
  bytes: number;
  scan?: SegmentScan;
  /** Why it could not be read (an errno code or message). */
  unreadable?: string;
}

export interface Missing {
  fromSeq: number;
  toSeq: number;
  /** Where the gap shows: "before 00000000000000001234.seg at byte 0", "listed in the manifest, gone", … */
  where: string;
}

export interface VerifyReport {
  spoolDir: string;
  manifest: LoadedManifest;
  segments: SegmentReport[];
  strays: StrayFile[];
  missing: Missing[];
  /** Damaged stretches (bytes that are not intact records) per segment, tails of sealed segments included. */
  damaged: Array<ByteStretch & { segment: string }>;
  /** The newest segment's unfinished last write, if any: cut at the next start, not damage. */
  tornTail?: { segment: string; bytes: number };
  records: number;
  bytes: number;
  lostRecords: number;
  /** True if anything was lost or damaged: `verify` exits non-zero. */
  damage: boolean;
}

export async function verifySpool(spoolDir: string, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const manifest = await loadManifest(spoolDir);
  const listing = await listSegments(join(spoolDir, 'segments'));
  // With a manifest, a segment it does not list was not written by the spool: a stray, not data.
  const listed = manifest.kind === 'manifest' ? new Set(manifest.manifest.segments) : undefined;
  const files = listing.segments.filter((file) => listed === undefined || listed.has(file.firstSeq));
  const strays = [...listing.strays, ...listing.segments.filter((file) => !files.includes(file)).map((file) => ({ path: file.path, why: 'not in the manifest' }))];
  const total = files.reduce((sum, segment) => sum + segment.size, 0);
  const report: VerifyReport = { spoolDir, manifest, segments: [], strays, missing: [], damaged: [], records: 0, bytes: total, lostRecords: 0, damage: false };
  let done = 0;
  for (const file of files) {
    const segment: SegmentReport = { name: basename(file.path), path: file.path, bytes: file.size };
    try {
      segment.scan = await scanSegment(file.path, { expectFirstSeq: file.firstSeq, onProgress: (bytes) => onProgress?.(done + bytes, total) });
      report.records += segment.scan.records;
    } catch (error) {
      segment.unreadable = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
    done += file.size;
    onProgress?.(done, total);
    report.segments.push(segment);
  }
  accountSequence(report, files);
  report.lostRecords = report.missing.reduce((sum, gap) => sum + gap.toSeq - gap.fromSeq + 1, 0);
  report.damage = report.lostRecords > 0 || report.damaged.length > 0 || report.segments.some((segment) => segment.unreadable !== undefined);
  return report;
}

/** Walks the segments in order and names every sequence number that no intact record carries. */
function accountSequence(report: VerifyReport, files: SegmentFile[]): void {
  const manifest = report.manifest.kind === 'manifest' ? report.manifest.manifest : undefined;
  const present = new Set(files.map((file) => file.firstSeq));
  for (const seq of manifest?.segments ?? []) {
    if (!present.has(seq)) report.missing.push({ fromSeq: seq, toSeq: seq, where: `segment ${String(seq).padStart(20, '0')}.seg is listed in the manifest but gone` });
  }
  let expected = manifest?.segments[0] ?? files[0]?.firstSeq ?? 0;
  let after = 'the start of the spool';
  report.segments.forEach((segment, index) => {
    const { scan } = segment;
    const isNewest = index === report.segments.length - 1;
    const firstSeq = files[index]!.firstSeq;
    if (firstSeq > expected) report.missing.push({ fromSeq: expected, toSeq: firstSeq - 1, where: `between ${after} and ${segment.name}` });
    expected = Math.max(expected, firstSeq);
    if (scan === undefined) {
      after = `${segment.name} (unreadable)`;
      return;
    }
    for (const gap of scan.gaps) {
      if (gap.fromSeq < expected) continue; // before the segment's name: counted above
      report.missing.push({ fromSeq: gap.fromSeq, toSeq: gap.toSeq, where: `${segment.name} before byte ${gap.offset}` });
    }
    for (const stretch of scan.damaged) report.damaged.push({ ...stretch, segment: segment.name });
    if (scan.tailBytes > 0) {
      if (isNewest) report.tornTail = { segment: segment.name, bytes: scan.tailBytes };
      else report.damaged.push({ from: scan.validEnd, to: scan.size, segment: segment.name });
    }
    expected = Math.max(expected, scan.lastSeq === undefined ? firstSeq : scan.lastSeq + 1);
    after = `${segment.name} byte ${scan.validEnd}`;
  });
  if (manifest && manifest.nextSeq > expected) {
    report.missing.push({ fromSeq: expected, toSeq: manifest.nextSeq - 1, where: `after ${after}: the manifest says records up to ${manifest.nextSeq - 1} were written` });
  }
  // Listed-but-gone segments were named above with their first number only; widen each to its range.
  report.missing = mergeMissing(report.missing);
}

/** Sorted, with a "listed but gone" marker folded into the gap that covers it. */
function mergeMissing(missing: Missing[]): Missing[] {
  const sorted = [...missing].sort((a, b) => a.fromSeq - b.fromSeq || b.toSeq - a.toSeq);
  const out: Missing[] = [];
  for (const gap of sorted) {
    const last = out.at(-1);
    if (last && gap.fromSeq <= last.toSeq) {
      if (gap.toSeq > last.toSeq) last.toSeq = gap.toSeq;
      if (gap.where.includes('listed in the manifest')) last.where = `${gap.where}; ${last.where}`;
    } else {
      out.push({ ...gap });
    }
  }
  return out;
}

export interface CursorInfo {
  sink: string;
  nextSeq?: number;
  /** Records spooled that the sink has not had accepted (negative: the cursor is past the end). */
  lag?: number;
  problem?: string;
}

export interface SpoolInfo {
  spoolDir: string;
  manifest: LoadedManifest;
  segments: Array<{ name: string; firstSeq: number; bytes: number; modified: string }>;
  strays: StrayFile[];
  bytes: number;
  /** Oldest record number still on disk, and the next number to be written. */
  firstSeq: number;
  nextSeq: number;
  cursors: CursorInfo[];
  /** Files the daemon moved aside to quarantine/ (unreadable segments, strays), for someone to look at. */
  quarantined: string[];
}

export async function spoolInfo(spoolDir: string): Promise<SpoolInfo> {
  const manifest = await loadManifest(spoolDir);
  const listing = await listSegments(join(spoolDir, 'segments'));
  let nextSeq = manifest.kind === 'manifest' ? manifest.manifest.nextSeq : 0;
  const newest = listing.segments.at(-1);
  if (newest) {
    const scan = await scanSegment(newest.path).catch(() => undefined);
    nextSeq = Math.max(nextSeq, newest.firstSeq, scan?.lastSeq === undefined ? 0 : scan.lastSeq + 1);
  }
  return {
    spoolDir,
    manifest,
    segments: listing.segments.map((file) => ({ name: basename(file.path), firstSeq: file.firstSeq, bytes: file.size, modified: new Date(file.mtimeMs).toISOString() })),
    strays: listing.strays,
    bytes: listing.segments.reduce((sum, file) => sum + file.size, 0),
    firstSeq: listing.segments[0]?.firstSeq ?? nextSeq,
    nextSeq,
    cursors: await readCursors(join(spoolDir, 'cursors'), nextSeq),
    quarantined: (await readdir(join(spoolDir, 'quarantine')).catch(() => [] as string[])).sort(),
  };
}

async function readCursors(dir: string, nextSeq: number): Promise<CursorInfo[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  return Promise.all(
    names.map(async (name): Promise<CursorInfo> => {
      const sink = decodeURIComponent(name.slice(0, -'.json'.length));
      const text = await readFile(join(dir, name), 'utf8').catch((error: NodeJS.ErrnoException) => error);
      const loaded = typeof text === 'string' ? parseCursor(text) : ({ kind: 'unusable', why: `unreadable: ${text.code ?? text.message}` } as const);
      if (loaded.kind !== 'cursor') return { sink, problem: `${loaded.kind === 'unusable' ? loaded.why : 'absent'}: the sink will get everything spooled again` };
      const lag = nextSeq - loaded.cursor.nextSeq;
      return { sink, nextSeq: loaded.cursor.nextSeq, lag, ...(lag < 0 ? { problem: 'past the end of the spool: reset at the next start (redelivery)' } : {}) };
    }),
  );
}
