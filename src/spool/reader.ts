// A sink's reader: reads records in order from its position, no further than what the writer has
// committed. Sequence numbers are dense, so every record the reader did not get shows as a gap in
// them: a damaged stretch, a segment deleted or quarantined, a cut-off end. Each gap is accounted
// (the spool's SpoolDamage logs and counts it once; this reader counts what it skipped) and reading
// goes on. I/O errors never leave `read`: a segment that cannot be read is retired by the spool
// (moved aside, or noted as missing) and the reader carries on with the next one; a passing shortage
// (EMFILE, ENOMEM) is waited out. Delivery progress (`nextSeq`) is separate from the read position:
// a batch is read once, retried by the dispatcher from memory, and only `commit` moves the cursor.
import { type FileHandle, open } from 'node:fs/promises';
import type { Logger } from '../ops/log';
import type { CursorStore } from './cursor-store';
import type { LossReason, SpoolDamage } from './damage';
import { HEADER_BYTES, parseStep } from './record';
import type { Retirement, Segment } from './spool';

/**
 * What a reader needs of the spool: the Spool itself on its own thread, or a mirror of it on a
 * delivery thread (src/delivery/spool-mirror.ts), which forwards `retire` and the damage notes.
 */
export interface ReaderSpool {
  /** The segments as they are now; the last is the active one, its `size` what is committed. */
  segmentList(): readonly Segment[];
  /** Every record before this one is committed. */
  readonly committedSeq: number;
  readonly isClosed: boolean;
  /** Resolves on the next commit (or on close). */
  waitForData(): Promise<void>;
  /** Lets go of a segment that cannot be read; false if that cannot be done now. */
  retire(segment: Segment, how: Retirement, cause: unknown): Promise<boolean>;
  readonly damage: Pick<SpoolDamage, 'noteLoss' | 'noteStretch'>;
  readonly cursors: Pick<CursorStore, 'save'>;
}

/** What the spool needs of a reader, wherever it runs: its delivered point for retention, and a way to move it past a drop. */
export interface ReaderHandle {
  readonly name: string;
  /** Every record before this one has been accepted by the sink. */
  readonly nextSeq: number;
  readonly skippedRecords: number;
  /** The spool dropped records before `seq` (size or age limit, counted there): continue from there. */
  skipTo(seq: number): void;
  persistCursor(): Promise<void>;
  close(): Promise<void>;
}

export interface SpoolRecord {
  seq: number;
  payload: Buffer;
}

/**
 * A read is sized to the batch it is for (READ_SLACK × the recent bytes per record × maxRecords),
 * not to a fixed megabyte: the payloads are views of the read's buffer and keep all of it alive
 * until they are collected, so a 1 MiB read for a 250 KB batch held four times the memory the
 * batch needed (the delivery thread's external memory, the peak of RSS in a drain). Never below
 * MIN_READ_BYTES (few reads for small records) nor above the batch's byte limit; a record larger
 * than the estimate is still read whole (readFrom's grow-and-retry).
 */
const MIN_READ_BYTES = 64 * 1024;
const READ_SLACK = 1.1;
/** Bytes per record on disk assumed before the first read measured it. */
const FIRST_RECORD_ESTIMATE = 512;
/** Longest a delivered position waits before it is written to the durable cursor. */
const CURSOR_SYNC_MS = 100;
/** Errors that pass: wait this long and try the same read again. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EINTR', 'EBUSY', 'ETIMEDOUT']);
const RETRY_MS = 1000;

export class SpoolReader implements ReaderHandle {
  /** Every record before this one has been accepted by the sink. */
  nextSeq: number;
  /** Records this reader jumped over because they were lost. */
  skippedRecords = 0;
  /** Writes of the cursor file that failed (the next delivery tries again). */
  cursorSaveFailures = 0;
  /** The next record expected: a record numbered higher means the ones between are lost. */
  private readSeq: number;
  private segment: Segment | undefined;
  private offset = 0;
  private handle: FileHandle | undefined;
  /** The segment `handle` reads. */
  private opened: Segment | undefined;
  /** Damage seen since the last intact record: a gap after it is 'damaged', not 'missing'. */
  private damageSeen = false;
  /** The damaged stretch being read through (it may span reads); noted when it ends. */
  private stretch: { segment: Segment; from: number; to: number } | undefined;
  /** Bytes per record on disk (header included) in the last read that parsed any. */
  private bytesPerRecord = FIRST_RECORD_ESTIMATE;
  private persistedSeq = -1;
  private persisting: Promise<void> = Promise.resolve();
  private interrupted = false;
  private persistTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly spool: ReaderSpool,
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
      const segment = this.currentSegment();
      if (segment === undefined) return [];
      if (this.opened !== segment) {
        if (!(await this.open(segment))) {
          if (this.interrupted) return [];
          continue;
        }
      }
      if (this.offset < segment.size) {
        const records = await this.readFrom(segment, maxRecords, maxBytes);
        if (records.length > 0) return records;
        if (this.interrupted) return [];
        continue;
      }
      this.endStretch();
      const segments = this.spool.segmentList();
      if (segment !== segments.at(-1)) {
        this.segment = segments[segments.indexOf(segment) + 1];
        continue;
      }
      // At the end of what is committed: every number before the writer's next one should have come.
      const committed = this.spool.committedSeq;
      if (this.readSeq < committed) this.noteGap(committed, segment, this.offset);
      if (this.interrupted || this.spool.isClosed) return [];
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.spool.waitForData().then(resolve);
      });
      this.wake = undefined;
      if (this.interrupted) return [];
    }
  }

  /** The next sequence number this reader reads (ahead of nextSeq by what is in flight). */
  get readPosition(): number {
    return this.readSeq;
  }

  /** Whether the reads so far took every committed record: the reader is waiting for the writer. */
  get caughtUp(): boolean {
    return this.readSeq >= this.spool.committedSeq;
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

  /** The spool dropped records before `seq` (size or age limit, counted there): continue from there. */
  skipTo(seq: number): void {
    if (this.readSeq < seq) this.readSeq = seq;
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
        this.cursorSaveFailures++;
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
    await this.closeHandle();
  }

  /**
   * The segment to read: the current one while the spool has it; otherwise (first read, or it was
   * deleted, dropped or retired) the one after it that holds readSeq, or the first after it.
   */
  private currentSegment(): Segment | undefined {
    if (this.segment !== undefined && !this.segment.gone) return this.segment;
    const after = this.segment?.firstSeq ?? -1;
    let chosen: Segment | undefined;
    for (const segment of this.spool.segmentList()) {
      if (segment.firstSeq <= after) continue;
      if (chosen !== undefined && segment.firstSeq > this.readSeq) break;
      chosen = segment;
    }
    return chosen;
  }

  /** Opens `segment` for reading from its start; false if it could not be (handled: retired or waited on). */
  private async open(segment: Segment): Promise<boolean> {
    await this.closeHandle();
    this.segment = segment;
    this.offset = 0;
    try {
      this.handle = await open(segment.path, 'r');
      this.opened = segment;
      return true;
    } catch (error) {
      await this.onIoError(segment, error);
      return false;
    }
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.opened = undefined;
    await handle?.close().catch(() => undefined);
  }

  /** A read or open failed: wait out a passing shortage, otherwise have the spool let go of the segment. */
  private async onIoError(segment: Segment, error: unknown): Promise<void> {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (TRANSIENT.has(code)) {
      this.logger.warn('spool.read_retry', { sink: this.name, file: segment.path, offset: this.offset, retryInMs: RETRY_MS, error });
      return this.pause(RETRY_MS);
    }
    await this.closeHandle();
    const how: Retirement = code === 'ENOENT' ? 'missing' : 'quarantine';
    if (!(await this.spool.retire(segment, how, error))) await this.pause(RETRY_MS);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => {
      this.wake = undefined;
    });
  }

  /** Records [readSeq, seq) never came: account them (the spool counts each loss once) and go on. */
  private noteGap(seq: number, segment: Segment, offset: number): void {
    const reason: LossReason = this.damageSeen ? 'damaged' : 'missing';
    this.spool.damage.noteLoss({ fromSeq: this.readSeq, toSeq: seq - 1, reason, file: segment.path, offset, sink: this.name });
    this.skippedRecords += seq - this.readSeq;
    this.readSeq = seq;
    this.damageSeen = false;
  }

  /** Bytes [from, to) are not intact records: one stretch with what came right before it. */
  private noteStretch(segment: Segment, from: number, to: number): void {
    this.damageSeen = true;
    if (this.stretch?.segment === segment && this.stretch.to === from) this.stretch.to = to;
    else {
      this.endStretch();
      this.stretch = { segment, from, to };
    }
  }

  private endStretch(): void {
    if (this.stretch === undefined) return;
    this.spool.damage.noteStretch(this.stretch.segment.path, this.stretch.from, this.stretch.to);
    this.stretch = undefined;
  }

  private async readFrom(segment: Segment, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    const end = segment.size;
    let want = Math.min(end - this.offset, this.readSize(maxRecords, maxBytes));
    for (;;) {
      const buffer = Buffer.allocUnsafe(want);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle!.read(buffer, 0, want, this.offset));
      } catch (error) {
        await this.onIoError(segment, error);
        return [];
      }
      if (bytesRead === 0) {
        // The file is shorter than the spool believes (cut from outside): what should be there is not.
        this.noteStretch(segment, this.offset, end);
        this.endStretch();
        this.offset = end;
        return [];
      }
      const data = buffer.subarray(0, bytesRead);
      // A short read is the file's end: cut from outside below what the spool believes, it will not
      // grow (a partial record there is damage; waiting for the rest of it would spin forever).
      const final = this.offset + bytesRead >= end || bytesRead < want;
      const records: SpoolRecord[] = [];
      let bytes = 0;
      let at = 0;
      let parsed = 0;
      let parsedBytes = 0;
      while (at < data.length && records.length < maxRecords && bytes < maxBytes) {
        const step = parseStep(data, at, final);
        if (step.kind === 'record') {
          const { seq, payload } = step.record;
          parsed++;
          parsedBytes += step.record.end - step.record.start;
          at = step.record.end;
          this.endStretch();
          if (seq < this.readSeq) continue; // delivered before a restart
          if (seq > this.readSeq) this.noteGap(seq, segment, this.offset + step.record.start);
          this.damageSeen = false;
          records.push({ seq, payload });
          bytes += payload.length;
          this.readSeq = seq + 1;
        } else if (step.kind === 'damaged') {
          // Without more data, the last 3 bytes may be the start of the next record's magic.
          const to = step.to >= data.length && !final ? Math.max(step.from + 1, data.length - 3) : step.to;
          this.noteStretch(segment, this.offset + step.from, this.offset + to);
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
      if (parsed > 0) this.bytesPerRecord = parsedBytes / parsed;
      return records;
    }
  }

  /** How many bytes to read for a batch of at most maxRecords records and about maxBytes of payload. */
  private readSize(maxRecords: number, maxBytes: number): number {
    const batch = Math.ceil(this.bytesPerRecord * maxRecords * READ_SLACK);
    return Math.min(maxBytes + HEADER_BYTES * maxRecords, Math.max(MIN_READ_BYTES, batch));
  }
}
