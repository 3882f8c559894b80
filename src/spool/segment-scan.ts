// Reads a whole segment file record by record, in bounded chunks, and reports what it holds: the
// intact records' sequence range, damaged stretches, gaps in the numbering, and the torn or damaged
// tail. Used by recovery (on the newest segment) and by `sparkngin spool verify` (on every one).
import { open } from 'node:fs/promises';
import { HEADER_BYTES, parseStep } from './record';

export interface ByteStretch {
  from: number;
  to: number;
}

export interface SeqGap {
  fromSeq: number;
  toSeq: number;
  /** Offset of the record after the gap. */
  offset: number;
}

export interface SegmentScan {
  size: number;
  records: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** End of the last intact record: what a torn tail is cut back to. */
  validEnd: number;
  /** Damaged stretches followed by an intact record. */
  damaged: ByteStretch[];
  /** Bytes after the last intact record that hold none (a torn write, or damage at the end). */
  tailBytes: number;
  /** Sequence numbers missing between intact records (and before the first, given `expectFirstSeq`). */
  gaps: SeqGap[];
  /** Records numbered at or below the one before them: not written by one spool in order. */
  outOfOrder: number;
}

export interface ScanOptions {
  /** The segment's name: its first record should carry this number. */
  expectFirstSeq?: number;
  chunkBytes?: number;
  /** Called with the bytes scanned so far, after each chunk. */
  onProgress?: (bytes: number) => void;
}

export async function scanSegment(path: string, options: ScanOptions = {}): Promise<SegmentScan> {
  const chunkBytes = options.chunkBytes ?? 4 * 1024 * 1024;
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const scan: SegmentScan = { size, records: 0, firstSeq: undefined, lastSeq: undefined, validEnd: 0, damaged: [], tailBytes: 0, gaps: [], outOfOrder: 0 };
    let expected = options.expectFirstSeq;
    let buffer: Buffer = Buffer.alloc(0);
    let base = 0; // file offset of buffer[0]
    let at = 0;
    let eof = false;
    let damage: ByteStretch | undefined;

    const readMore = async (need: number) => {
      const rest = buffer.subarray(at);
      base += at;
      at = 0;
      // Up to the size seen at open: a damaged length field must not make us allocate for it.
      const left = Math.max(0, size - base - rest.length);
      const more = Buffer.allocUnsafe(Math.min(left, Math.max(chunkBytes, need - rest.length)));
      const { bytesRead } = left === 0 ? { bytesRead: 0 } : await handle.read(more, 0, more.length, base + rest.length);
      if (bytesRead === 0) eof = true;
      buffer = Buffer.concat([rest, more.subarray(0, bytesRead)]);
      options.onProgress?.(base + buffer.length);
    };
    const noteDamage = (from: number, to: number) => {
      if (damage && damage.to === from) damage.to = to;
      else damage = { from, to };
    };

    await readMore(chunkBytes);
    while (!(eof && at >= buffer.length)) {
      const step = parseStep(buffer, at, eof);
      if (step.kind === 'record') {
        const { seq } = step.record;
        if (damage) scan.damaged.push(damage);
        damage = undefined;
        if (expected !== undefined && seq > expected) scan.gaps.push({ fromSeq: expected, toSeq: seq - 1, offset: base + at });
        if (scan.lastSeq !== undefined && seq <= scan.lastSeq) scan.outOfOrder++;
        scan.firstSeq ??= seq;
        scan.lastSeq = seq;
        scan.records++;
        expected = Math.max(expected ?? 0, seq + 1);
        at = step.record.end;
        scan.validEnd = base + at;
      } else if (step.kind === 'damaged') {
        if (step.to >= buffer.length && !eof) {
          // Without more data, the last 3 bytes may be the start of the next record's magic.
          const to = Math.max(step.from + 1, buffer.length - 3);
          noteDamage(base + step.from, base + to);
          at = to;
          await readMore(chunkBytes);
        } else {
          noteDamage(base + step.from, base + step.to);
          at = step.to;
        }
      } else {
        const length = buffer.length - at >= 8 ? buffer.readUInt32LE(at + 4) : 0;
        await readMore(HEADER_BYTES + length);
      }
    }
    scan.tailBytes = size - scan.validEnd;
    return scan;
  } finally {
    await handle.close();
  }
}
