// Segment files are named by the sequence number of their first record, zero-padded to 20 digits,
// so that a directory listing sorted by name is the spool's order (after tidwall/wal). Anything else
// named like a segment (a number past u48, a directory, a symlink, a device) is a stray: listed apart
// so that recovery can move it aside instead of tripping over it.
import { lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MAX_SEQ } from './record';

const SUFFIX = '.seg';
const NAME = /^(\d{20})\.seg$/;

export const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(20, '0')}${SUFFIX}`;

export interface SegmentFile {
  firstSeq: number;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface StrayFile {
  path: string;
  why: string;
}

export interface SegmentListing {
  segments: SegmentFile[];
  strays: StrayFile[];
}

export async function listSegments(dir: string): Promise<SegmentListing> {
  const names = (await readdir(dir)).filter((name) => NAME.test(name)).sort();
  const listing: SegmentListing = { segments: [], strays: [] };
  for (const name of names) {
    const path = join(dir, name);
    const firstSeq = Number(NAME.exec(name)![1]);
    let info;
    try {
      info = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
      listing.strays.push({ path, why: `cannot stat: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      continue;
    }
    if (firstSeq > MAX_SEQ) listing.strays.push({ path, why: 'its number is past the largest sequence number (2^48 - 1)' });
    else if (!info.isFile()) listing.strays.push({ path, why: info.isDirectory() ? 'a directory' : info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' });
    else listing.segments.push({ firstSeq, path, size: info.size, mtimeMs: info.mtimeMs });
  }
  return listing;
}

/**
 * Moves a file out of the way into `<spool>/quarantine/`, keeping it for whoever wants to look at it
 * (a name that is already there gets a numbered suffix). Returns where it went, or undefined when
 * it could not be moved (the error is the caller's to report).
 */
export async function quarantine(spoolDir: string, path: string): Promise<string | undefined> {
  const dir = join(spoolDir, 'quarantine');
  try {
    await mkdir(dir, { recursive: true });
    for (let n = 0; ; n++) {
      const target = join(dir, n === 0 ? basename(path) : `${basename(path)}.${n}`);
      if (await lstat(target).then(() => true, () => false)) continue;
      await rename(path, target);
      return target;
    }
  } catch {
    return undefined;
  }
}
