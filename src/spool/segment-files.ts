// Segment files are named by the sequence number of their first record, zero-padded to 20 digits,
// so that a directory listing sorted by name is the spool's order (after tidwall/wal).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const SUFFIX = '.seg';
const NAME = /^(\d{20})\.seg$/;

export const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(20, '0')}${SUFFIX}`;

export interface SegmentFile {
  firstSeq: number;
  path: string;
  size: number;
  mtimeMs: number;
}

export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const names = (await readdir(dir)).filter((name) => NAME.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const info = await stat(path);
      return { firstSeq: Number(NAME.exec(name)![1]), path, size: info.size, mtimeMs: info.mtimeMs };
    }),
  );
}
