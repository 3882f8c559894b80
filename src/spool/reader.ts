// A sink's reader: reads records in order from its position, no further than what the writer has
// committed, skipping damaged stretches (counted, logged) and segments deleted under it. Delivery
// progress (`nextSeq`) is separate from the read position: a batch is read once, retried by the
// dispatcher from memory, and only `commit` moves the durable cursor.
import { type FileHandle, open } from 'node:fs/promises';
import type { Logger } from '../ops/log';
import { HEADER_BYTES, parseStep } from './record';
import type { Segment, Spool } from './spool';

export interface SpoolRecord {
  seq: number;
  payload: Buffer;
}

const MIN_READ_BYTES = 1024 * 1024;
/** Longest a delivered position waits before it is written to the durable cursor. */
const CURSOR_SYNC_MS = 100;

export class SpoolReader {
  /** Every record before this one has been accepted by the sink. */
  nextSeq: number;
  private readSeq: number;
  private segmentFirstSeq: number | undefined;
  private offset = 0;
  private handle: FileHandle | undefined;
  private persistedSeq = -1;
  private persisting: Promise<void> = Promise.resolve();
  private interrupted = false;
  private persistTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly spool: Spool,
    readonly name: string,
    startSeq: number,
    private readonly logger: Logger,
  ) {
    this.nextSeq = startSeq;
    this.readSeq = startSeq;
  }

  /**
   * Resolves with 1..maxRecords records (at most about maxBytes of payload) once any are committed,
   * or with none when the reader was interrupted or the spool closed with nothing left to read.
   */
  async read(maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    this.interrupted = false;
    for (;;) {
      const segment = await this.currentSegment();
      if (segment === undefined) return [];
      if (this.offset < segment.size) {
        const records = await this.readFrom(segment, maxRecords, maxBytes);
        if (records.length > 0) return records;
        continue;
      }
      const segments = this.spool.segmentList();
      const next = segments[segments.indexOf(segment) + 1];
      if (segment.sealed && next) {
        await this.moveTo(next);
        continue;
      }
      if (this.interrupted || this.spool.isClosed) return [];
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.spool.waitForData().then(resolve);
      });
      this.wake = undefined;
      if (this.interrupted) return [];
    }
  }

  /** Makes a pending `read` return (with no records) so that a dispatcher can stop. */
  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
  }

  /**
   * Records up to (not including) `nextSeq` were accepted by the sink. The cursor is persisted soon
   * after (at most every CURSOR_SYNC_MS), so that a crash redelivers a fraction of a second of
   * events rather than everything since the last maintenance pass.
   */
  commit(nextSeq: number): void {
    if (nextSeq <= this.nextSeq) return;
    this.nextSeq = nextSeq;
    if (this.persistTimer === undefined) {
      this.persistTimer = setTimeout(() => {
        this.persistTimer = undefined;
        void this.persistCursor();
      }, CURSOR_SYNC_MS);
      this.persistTimer.unref();
    }
  }

  /** The spool dropped records before `seq` (size or age limit): continue from there. */
  skipTo(seq: number): void {
    if (this.readSeq < seq) {
      this.readSeq = seq;
      this.segmentFirstSeq = undefined;
    }
    this.commit(seq);
  }

  /** Writes the cursor if it moved; calls are serialised. */
  persistCursor(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const seq = this.nextSeq;
      if (seq === this.persistedSeq) return;
      try {
        await this.spool.cursors.save(this.name, { nextSeq: seq });
        this.persistedSeq = seq;
      } catch (error) {
        this.logger.error('spool.cursor_save_failed', { sink: this.name, error });
      }
    });
    return this.persisting;
  }

  async close(): Promise<void> {
    this.interrupt();
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    await this.persistCursor();
    await this.handle?.close();
    this.handle = undefined;
  }

  /** The segment holding readSeq, reopening if it was deleted or not yet chosen. */
  private async currentSegment(): Promise<Segment | undefined> {
    const segments = this.spool.segmentList();
    const current = segments.find((segment) => segment.firstSeq === this.segmentFirstSeq);
    if (current) return current;
    let chosen = segments[0];
    for (const segment of segments) if (segment.firstSeq <= this.readSeq) chosen = segment;
    if (chosen === undefined) return undefined;
    if (chosen.firstSeq > this.readSeq) this.readSeq = chosen.firstSeq;
    await this.moveTo(chosen);
    return chosen;
  }

  private async moveTo(segment: Segment): Promise<void> {
    await this.handle?.close();
    this.handle = await open(segment.path, 'r');
    this.segmentFirstSeq = segment.firstSeq;
    this.offset = 0;
  }

  private async readFrom(segment: Segment, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    const end = segment.size;
    let want = Math.min(end - this.offset, Math.max(MIN_READ_BYTES, maxBytes + HEADER_BYTES));
    for (;;) {
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.handle!.read(buffer, 0, want, this.offset);
      if (bytesRead === 0) {
        // The file is shorter than the spool believes (cut from outside): nothing more to read here.
        this.logger.error('spool.segment_short', { file: segment.path, offset: this.offset, expected: end });
        this.offset = end;
        return [];
      }
      const data = buffer.subarray(0, bytesRead);
      const final = this.offset + bytesRead >= end;
      const records: SpoolRecord[] = [];
      let bytes = 0;
      let at = 0;
      while (at < data.length && records.length < maxRecords && bytes < maxBytes) {
        const step = parseStep(data, at, final);
        if (step.kind === 'record') {
          at = step.record.end;
          if (step.record.seq < this.readSeq) continue; // delivered before a restart
          records.push({ seq: step.record.seq, payload: step.record.payload });
          bytes += step.record.payload.length;
          this.readSeq = step.record.seq + 1;
        } else if (step.kind === 'damaged') {
          // Without more data, the last 3 bytes may be the start of the next record's magic.
          const to = step.to >= data.length && !final ? Math.max(step.from + 1, data.length - 3) : step.to;
          this.spool.noteDamage(segment.path, this.offset + step.from, this.offset + to);
          at = to;
        } else {
          break; // incomplete: a record longer than this read
        }
      }
      if (at === 0 && !final) {
        // Not even one record fits: read enough for the one at the current offset.
        const length = data.length >= 8 ? data.readUInt32LE(4) : 0;
        want = Math.min(end - this.offset, Math.max(want * 2, HEADER_BYTES + length));
        continue;
      }
      this.offset += at;
      return records;
    }
  }
}
