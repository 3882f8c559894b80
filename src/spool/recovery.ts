// Start-up scan of the newest segment: the only one a crash can leave half-written (older segments
// were synced before the writer moved on). Finds the last intact record, reports damage, and cuts a
// torn tail so that appends resume after intact data.
import { open, readFile } from 'node:fs/promises';
import { parseStep } from './record';

export interface TailScan {
  /** Sequence number of the last intact record, or undefined if the segment holds none. */
  lastSeq: number | undefined;
  records: number;
  /** Byte length of the intact prefix the segment is cut to (everything after it was torn). */
  validEnd: number;
  tornBytes: number;
  /** Damaged stretches followed by intact records: skipped by readers, reported here. */
  damaged: Array<{ from: number; to: number }>;
}

export async function scanSegment(path: string): Promise<TailScan> {
  const buffer = await readFile(path);
  const scan: TailScan = { lastSeq: undefined, records: 0, validEnd: 0, tornBytes: 0, damaged: [] };
  let at = 0;
  while (at < buffer.length) {
    const step = parseStep(buffer, at, true);
    if (step.kind === 'record') {
      scan.lastSeq = step.record.seq;
      scan.records++;
      at = step.record.end;
      scan.validEnd = at;
    } else if (step.kind === 'damaged') {
      if (step.to >= buffer.length) break; // nothing intact after it: a torn tail
      scan.damaged.push({ from: step.from, to: step.to });
      at = step.to;
    } else {
      break;
    }
  }
  scan.tornBytes = buffer.length - scan.validEnd;
  return scan;
}

/** Cuts the file to `length` and makes the cut durable. */
export async function truncateDurably(path: string, length: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.truncate(length);
    await file.datasync();
  } finally {
    await file.close();
  }
}
