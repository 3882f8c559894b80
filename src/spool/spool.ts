// The spool: an append-only log of records on local disk, written by one group-committing writer and
// read by one reader per sink. See README.md in this folder for the invariants and the byte layout.
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/defaults';
import { SparknginError, SpoolClosedError, SpoolFullError } from '../errors';
import { type Logger, silentLogger } from '../ops/log';
import { CursorStore } from './cursor-store';
import { framedSize, writeRecord } from './record';
import { scanSegment, truncateDurably } from './recovery';
import { SpoolReader } from './reader';
import { listSegments, segmentName } from './segment-files';

export interface SpoolOptions extends SpoolConfig {
  dir: string;
  logger?: Logger;
  /** How often retention runs (age limits, cursor persistence), in ms. */
  maintenanceIntervalMs?: number;
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
}

export interface SpoolStats {
  segments: number;
  bytes: number;
  /** Oldest sequence number still on disk. */
  firstSeq: number;
  /** Sequence number the next record will get. */
  nextSeq: number;
  appendedRecords: number;
  syncs: number;
  droppedRecords: number;
  damagedStretches: number;
  full: boolean;
}

/** A segment as the spool tracks it; `size` of the active one is its committed (synced) length. */
export interface Segment {
  firstSeq: number;
  path: string;
  size: number;
  createdMs: number;
  sealed: boolean;
}

interface PendingAppend {
  payloads: Buffer[];
  bytes: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type SpoolConfig = Config['spool'];

/** Disk errors that mean "no room": answered like a full spool, retriable, nothing accepted lost. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

export class Spool {
  readonly segmentsDir: string;
  readonly cursors: CursorStore;
  private readonly logger: Logger;
  private readonly segments: Segment[] = [];
  private active!: FileHandle;
  private nextSeq = 0;
  private pending: PendingAppend[] = [];
  private flushing = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly readers = new Map<string, SpoolReader>();
  private readonly waiters = new Set<() => void>();
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private noSpaceUntil = 0;
  /** Set when an append was refused for the size limit; cleared when one is admitted again. */
  private refusedForSize = false;
  private readonly counters = { appendedRecords: 0, syncs: 0, droppedRecords: 0, damagedStretches: 0 };

  private constructor(private readonly options: SpoolOptions) {
    this.segmentsDir = join(options.dir, 'segments');
    this.cursors = new CursorStore(join(options.dir, 'cursors'));
    this.logger = options.logger ?? silentLogger;
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await spool.recover();
    spool.maintenanceTimer = setInterval(() => void spool.maintain(), options.maintenanceIntervalMs ?? 1000);
    spool.maintenanceTimer.unref();
    return spool;
  }

  private async recover(): Promise<void> {
    await mkdir(this.segmentsDir, { recursive: true });
    await this.cursors.init();
    const files = await listSegments(this.segmentsDir);
    for (const file of files) {
      this.segments.push({ firstSeq: file.firstSeq, path: file.path, size: file.size, createdMs: file.mtimeMs, sealed: true });
    }
    const last = this.segments.at(-1);
    if (last === undefined) {
      await this.startSegment(0);
      return;
    }
    const scan = await scanSegment(last.path);
    if (scan.tornBytes > 0) {
      await truncateDurably(last.path, scan.validEnd);
      this.logger.warn('spool.torn_tail_truncated', { file: last.path, bytes: scan.tornBytes, keptRecords: scan.records });
    }
    for (const stretch of scan.damaged) {
      this.counters.damagedStretches++;
      this.logger.warn('spool.damage_found', { file: last.path, from: stretch.from, to: stretch.to, action: 'skipped; intact records around it are kept' });
    }
    last.size = scan.validEnd;
    this.nextSeq = scan.lastSeq === undefined ? last.firstSeq : scan.lastSeq + 1;
    if (scan.records === 0) {
      // Reuse an empty newest segment instead of leaving it behind.
      this.segments.pop();
      await rm(last.path, { force: true });
    }
    await this.startSegment(this.nextSeq);
    this.logger.info('spool.opened', { dir: this.options.dir, segments: this.segments.length, nextSeq: this.nextSeq });
  }

  private async startSegment(firstSeq: number): Promise<void> {
    const path = join(this.segmentsDir, segmentName(firstSeq));
    const previous = this.segments.at(-1);
    if (previous) previous.sealed = true;
    const handle = await open(path, 'w');
    await syncDir(this.segmentsDir);
    const old = this.active as FileHandle | undefined;
    this.active = handle;
    this.segments.push({ firstSeq, path, size: 0, createdMs: Date.now(), sealed: false });
    if (old) await old.close();
  }

  /** Appends records; resolves once they are durable per `fsync` with their sequence numbers. */
  append(payloads: Buffer[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new SpoolClosedError());
    let bytes = 0;
    for (const payload of payloads) bytes += framedSize(payload);
    const refusal = this.admit(bytes);
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.pending.push({ payloads, bytes, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Why an append of `bytes` must be refused now, if it must. */
  private admit(bytes: number): SparknginError | undefined {
    if (Date.now() < this.noSpaceUntil) return new SpoolFullError(1);
    const refusal = this.admitBySize(bytes);
    this.refusedForSize = refusal !== undefined;
    return refusal;
  }

  private admitBySize(bytes: number): SparknginError | undefined {
    if (this.totalBytes() + this.pendingBytes() + bytes <= this.options.maxBytes) return undefined;
    this.deleteDelivered();
    if (this.totalBytes() + this.pendingBytes() + bytes <= this.options.maxBytes) return undefined;
    if (this.options.fullPolicy === 'drop-oldest') {
      while (this.totalBytes() + this.pendingBytes() + bytes > this.options.maxBytes && this.dropOldest('spool full')) {
        // each pass drops one sealed segment
      }
      if (this.totalBytes() + this.pendingBytes() + bytes <= this.options.maxBytes) return undefined;
    }
    return new SpoolFullError(Math.max(1, Math.ceil((this.options.maintenanceIntervalMs ?? 1000) / 1000)));
  }

  private pendingBytes(): number {
    let bytes = 0;
    for (const append of this.pending) bytes += append.bytes;
    return bytes;
  }

  private totalBytes(): number {
    let bytes = 0;
    for (const segment of this.segments) bytes += segment.size;
    return bytes;
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushTimer) return;
    if (this.options.commitIntervalMs <= 0) {
      this.flushing = true;
      setImmediate(() => void this.flushLoop());
    } else {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flushing = true;
        void this.flushLoop();
      }, this.options.commitIntervalMs);
    }
  }

  /**
   * Group commit: writes everything pending as one write, syncs once, answers every append in it.
   * Appends that arrive during the write and sync form the next group. `always` syncs per append.
   */
  private async flushLoop(): Promise<void> {
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    try {
      while (this.pending.length > 0) {
        const segment = this.segments.at(-1)!;
        if (segment.size > 0 && segment.size + this.pending[0]!.bytes > this.options.segmentBytes) {
          await this.startSegment(this.nextSeq);
          continue;
        }
        const group = this.takeGroup(segment.size);
        await this.writeGroup(group, segment);
      }
    } finally {
      this.flushing = false;
      this.markIdle();
    }
  }

  /** Takes the appends that go into one write: all that fit in the segment (`always`: one). */
  private takeGroup(segmentSize: number): PendingAppend[] {
    if (this.options.fsync === 'always') return this.pending.splice(0, 1);
    let bytes = segmentSize;
    let count = 0;
    for (const append of this.pending) {
      if (count > 0 && bytes + append.bytes > this.options.segmentBytes) break;
      bytes += append.bytes;
      count++;
    }
    return this.pending.splice(0, count);
  }

  private async writeGroup(group: PendingAppend[], segment: Segment): Promise<void> {
    let bytes = 0;
    for (const append of group) bytes += append.bytes;
    const buffer = Buffer.allocUnsafe(bytes);
    const firstSeq = this.nextSeq;
    let seq = firstSeq;
    let at = 0;
    const results: AppendResult[] = [];
    for (const append of group) {
      const start = seq;
      for (const payload of append.payloads) at = writeRecord(buffer, at, seq++, payload);
      results.push({ firstSeq: start, lastSeq: seq - 1 });
    }
    try {
      let written = 0;
      while (written < bytes) {
        const { bytesWritten } = await this.active.write(buffer, written, bytes - written, segment.size + written);
        written += bytesWritten;
      }
      if (this.options.fsync !== 'never') await this.active.datasync();
    } catch (error) {
      await this.undoPartialWrite(segment);
      const refusal = NO_SPACE.has((error as NodeJS.ErrnoException).code ?? '') ? this.noSpace(error) : error;
      for (const append of group) append.reject(refusal);
      return;
    }
    this.nextSeq = seq;
    segment.size += bytes;
    this.counters.appendedRecords += seq - firstSeq;
    if (this.options.fsync !== 'never') this.counters.syncs++;
    group.forEach((append, index) => append.resolve(results[index]!));
    this.wakeReaders();
  }

  /** A failed write may have left part of a group on disk: cut it so it never reads as data. */
  private async undoPartialWrite(segment: Segment): Promise<void> {
    try {
      await this.active.truncate(segment.size);
    } catch (error) {
      this.logger.error('spool.truncate_failed', { file: segment.path, error });
    }
  }

  private noSpace(error: unknown): SpoolFullError {
    this.noSpaceUntil = Date.now() + 1000;
    this.logger.error('spool.disk_full', { error });
    return new SpoolFullError(1);
  }

  private wakeReaders(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves on the next commit (or on close). */
  waitForData(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** The segments as they are now (the last one is the active one, its size what is committed). */
  segmentList(): readonly Segment[] {
    return this.segments;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens the reader named `name` (one per sink), resuming from its durable cursor. */
  async openReader(name: string): Promise<SpoolReader> {
    const existing = this.readers.get(name);
    if (existing) return existing;
    const stored = await this.cursors.load(name);
    const firstSeq = this.segments[0]?.firstSeq ?? this.nextSeq;
    const reader = new SpoolReader(this, name, Math.max(stored?.nextSeq ?? 0, firstSeq), this.logger);
    this.readers.set(name, reader);
    return reader;
  }

  /** Counts records a reader could not read because they were damaged on disk. */
  noteDamage(file: string, from: number, to: number): void {
    this.counters.damagedStretches++;
    this.logger.warn('spool.damage_skipped', { file, from, to });
  }

  /** Deletes sealed segments every reader has passed. */
  private deleteDelivered(): void {
    const readers = [...this.readers.values()];
    const delivered = readers.length === 0 ? this.nextSeq : Math.min(...readers.map((reader) => reader.nextSeq));
    while (this.segments.length > 1 && this.segments[1]!.firstSeq <= delivered) this.removeOldest();
  }

  /** Drops the oldest sealed segment whatever the readers; counts what they lose. Returns false if none. */
  private dropOldest(reason: string): boolean {
    if (this.segments.length < 2) return false;
    const [oldest, next] = this.segments as [Segment, Segment];
    let lost = 0;
    for (const reader of this.readers.values()) {
      if (reader.nextSeq < next.firstSeq) {
        lost = Math.max(lost, next.firstSeq - Math.max(reader.nextSeq, oldest.firstSeq));
        reader.skipTo(next.firstSeq);
      }
    }
    this.counters.droppedRecords += lost;
    this.logger.warn('spool.segment_dropped', { file: oldest.path, reason, undeliveredRecords: lost });
    this.removeOldest();
    return true;
  }

  private removeOldest(): void {
    const oldest = this.segments.shift()!;
    this.refusedForSize = false;
    rm(oldest.path, { force: true }).catch((error: unknown) => this.logger.error('spool.delete_failed', { file: oldest.path, error }));
  }

  /** Periodic upkeep: delete delivered segments, apply the age limit, persist reader cursors. */
  async maintain(): Promise<void> {
    this.deleteDelivered();
    if (this.options.maxAgeSeconds > 0) {
      const limit = Date.now() - this.options.maxAgeSeconds * 1000;
      while (this.segments.length > 1 && this.segments[1]!.createdMs < limit && this.dropOldest('older than spool.maxAgeSeconds')) {
        // the next segment's creation time is the oldest record's latest possible time
      }
    }
    await Promise.all([...this.readers.values()].map((reader) => reader.persistCursor()));
  }

  /** True from an append refused for lack of room (size limit under `reject`, or disk full) until room is made. */
  isFull(): boolean {
    if (Date.now() < this.noSpaceUntil) return true;
    return this.refusedForSize;
  }

  stats(): SpoolStats {
    return {
      segments: this.segments.length,
      bytes: this.totalBytes(),
      firstSeq: this.segments[0]?.firstSeq ?? this.nextSeq,
      nextSeq: this.nextSeq,
      ...this.counters,
      full: this.isFull(),
    };
  }

  /** Commits what is pending, persists cursors and closes files. Appends after this are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.maintenanceTimer);
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.flushing = true;
      void this.flushLoop();
    }
    await this.idle;
    this.wakeReaders();
    await Promise.all([...this.readers.values()].map((reader) => reader.close()));
    await this.active.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
