// The spool's own account of what it holds, `<spool>/manifest.json`:
//
//   {"format":1,"segments":[0,81920,…],"nextSeq":163840}
//
// `segments` names (by first sequence number) every segment the spool made and has not deleted on
// purpose, and `nextSeq` is a point that every record before it reached: with dense sequence numbers
// the records [segments[0], nextSeq) must all be on disk. Recovery compares that claim with the
// directory, so a segment deleted from outside, a damaged end of the newest segment, or a stray file
// is found and accounted at start instead of skipped in silence. A segment is listed before a record
// is written into it and unlisted before it is deleted; `nextSeq` is brought up to date about once a
// second and at stop, so it may lag (records after it can only be found, not missed).
// No manifest (a spool from before it, or one deleted) means none of those checks at start; readers
// still account every gap they meet. A format other than 1 is refused: a newer sparkngin wrote it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SparknginError } from '../errors';
import { writeFileDurably } from './durable-file';
import { MAX_SEQ } from './record';

export const MANIFEST_FORMAT = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface Manifest {
  segments: number[];
  nextSeq: number;
}

/** The manifest is of a format this version does not know (a newer sparkngin wrote the spool). */
export class SpoolFormatError extends SparknginError {
  constructor(path: string, format: unknown) {
    super('SPOOL_FORMAT_UNKNOWN', `${path} is of spool format ${String(format)}, this sparkngin reads format ${MANIFEST_FORMAT}: run the version that wrote it`);
  }
}

export type LoadedManifest = { kind: 'absent' } | { kind: 'manifest'; manifest: Manifest } | { kind: 'unusable'; why: string };

export const manifestPath = (spoolDir: string): string => join(spoolDir, MANIFEST_FILE);

export async function loadManifest(spoolDir: string): Promise<LoadedManifest> {
  const path = manifestPath(spoolDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unusable', why: `unreadable: ${code ?? (error as Error).message}` };
  }
  let parsed: { format?: unknown; segments?: unknown; nextSeq?: unknown } | null;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { kind: 'unusable', why: 'not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object') return { kind: 'unusable', why: 'not an object' };
  if (parsed.format !== MANIFEST_FORMAT) {
    if (typeof parsed.format === 'number' && parsed.format > MANIFEST_FORMAT) throw new SpoolFormatError(path, parsed.format);
    return { kind: 'unusable', why: `format ${String(parsed.format)}` };
  }
  const { segments, nextSeq } = parsed;
  const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEQ;
  if (!Array.isArray(segments) || !segments.every(isSeq) || !isSeq(nextSeq)) return { kind: 'unusable', why: 'a value out of range' };
  for (let i = 1; i < segments.length; i++) if (segments[i]! <= segments[i - 1]!) return { kind: 'unusable', why: 'segments out of order' };
  return { kind: 'manifest', manifest: { segments, nextSeq } };
}

export function saveManifest(spoolDir: string, manifest: Manifest): Promise<void> {
  return writeFileDurably(manifestPath(spoolDir), JSON.stringify({ format: MANIFEST_FORMAT, segments: manifest.segments, nextSeq: manifest.nextSeq }));
}
