// The spool: an append-only log of records on local disk, written by one group-committing writer and
// read by one reader per sink. See README.md in this folder for the invariants and the byte layout.
// Past 400 lines on purpose: the writer, retention and the retiring of damaged segments all change
// the one segment list and the manifest that mirrors it; split, each would need the others' locks.
// Recovery, scanning, the manifest file, damage accounting and reading live in their own modules.
import { constants } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/defaults';
import { SparknginError, SpoolClosedError, SpoolFullError } from '../errors';
import { type Logger, silentLogger } from '../ops/log';
import { CursorStore } from './cursor-store';
import { type DamageStats, SpoolDamage } from './damage';
import { mkdirDurably, syncDir } from './durable-file';
import { saveManifest } from './manifest';
import { framedSize, MAX_SEQ, writeRecord } from './record';
import { recoverSegments } from './recovery';
import { type ReaderHandle, type ReaderSpool, SpoolReader } from './reader';
import { quarantine, segmentName } from './segment-files';

export interface SpoolOptions extends SpoolConfig {
  dir: string;
  logger?: Logger;
  /** How often retention runs (age limits, cursor persistence), in ms. */
  maintenanceIntervalMs?: number;
  /**
   * The readers the caller will open (by sink name): where each resumes is settled while the spool
   * makes its segment, so that a new sink's cursor file is written beside those syncs rather than
   * after them (`readerStart` then answers from it).
   */
  readers?: string[];
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
}

export interface SpoolStats extends DamageStats {
  segments: number;
  bytes: number;
  /** Oldest sequence number still on disk. */
  firstSeq: number;
  /** Sequence number the next record will get. */
  nextSeq: number;
  appendedRecords: number;
  syncs: number;
  droppedRecords: number;
  full: boolean;
  /** Each sink's reader: its durable position and the records it had to skip because they were lost. */
  readers: Array<{ sink: string; nextSeq: number; skippedRecords: number }>;
}

/** A segment as the spool tracks it; `size` of the active one is its committed (synced) length. */
export interface Segment {
  firstSeq: number;
  path: string;
  size: number;
  createdMs: number;
  /** When its newest record was written (the active one: the last commit; at start: the file's mtime). The age limit reads it. */
  newestMs?: number;
  sealed: boolean;
  /** Set once the spool let go of it (delivered, dropped, quarantined, found missing): readers move on. */
  gone?: boolean;
}

/** How a segment that cannot be read is let go: moved aside, or noted as deleted from outside. */
export type Retirement = 'quarantine' | 'missing';

/**
 * What changed in the segment list, in the order it changed: how a reader on another thread keeps
 * its mirror of the list (src/delivery/spool-mirror.ts). `commit`: the active segment's committed
 * size and the next sequence number moved (one group commit); `roll`: a new active segment (the
 * previous one is sealed); `gone`: a segment left the list (delivered, dropped, retired); `closed`.
 */
export type SpoolEvent =
  | { kind: 'commit'; nextSeq: number; size: number }
  | { kind: 'roll'; firstSeq: number; path: string; createdMs: number }
  | { kind: 'gone'; firstSeq: number }
  | { kind: 'closed' };

interface PendingAppend {
  payloads: Buffer[];
  bytes: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type SpoolConfig = Config['spool'];

/** Disk errors that mean "no room": answered like a full spool, retriable, nothing accepted lost. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Flags of a segment opened O_DSYNC ('w' plus O_DSYNC), where the platform has it (Linux, macOS).
 * A group commit is then one write that returns once its bytes are durable, as write + fdatasync
 * would make them (POSIX synchronized I/O data integrity: the data and what is needed to read it
 * back, the file's size included), in one trip to the thread pool instead of two: on the
 * single-event hot path each trip is a promise, a thread wake-up and a callback into JavaScript.
 */
const SYNCED_WRITES = constants.O_DSYNC === undefined ? undefined : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC;

export class Spool implements ReaderSpool {
  readonly segmentsDir: string;
  readonly cursors: CursorStore;
  readonly damage: SpoolDamage;
  private readonly logger: Logger;
  private segments: Segment[] = [];
  private active!: FileHandle;
  private nextSeq = 0;
  /** First number the spool means to hold; a cursor below it was passed by deletions on purpose. */
  private floorSeq = 0;
  /** The segment being created: listed in the manifest before any record goes into it. */
  private creating: number | undefined;
  private manifestWrites: Promise<void> = Promise.resolve();
  private manifestNextSeq = -1;
  /** Segment deletions under way (manifest first, then the file). */
  private readonly deletions = new Set<Promise<void>>();
  private pending: PendingAppend[] = [];
  private flushing = false;
  private readonly writerQueue: Array<() => void> = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly readers = new Map<string, ReaderHandle>();
  /** The starts of `options.readers`, begun at open, each taken once by readerStart. */
  private readonly earlyStarts = new Map<string, Promise<number>>();
  private readonly watchers = new Set<(event: SpoolEvent) => void>();
  private readonly waiters = new Set<() => void>();
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private noSpaceUntil = 0;
  /** Set when an append was refused for the size limit; cleared when one is admitted again. */
  private refusedForSize = false;
  private readonly counters = { appendedRecords: 0, syncs: 0, droppedRecords: 0 };
  /** Segments' open flags: O_DSYNC where the platform has it and fsync is on, so each group's write returns once durable (see SYNCED_WRITES). */
  private readonly segmentFlags: string | number;
  /** fsync is on but writes are not synced by their flags: fdatasync after each group. */
  private readonly datasyncAfterWrite: boolean;

  private constructor(private readonly options: SpoolOptions) {
    this.segmentsDir = join(options.dir, 'segments');
    this.cursors = new CursorStore(join(options.dir, 'cursors'));
    this.logger = options.logger ?? silentLogger;
    this.damage = new SpoolDamage(this.logger);
    const synced = options.fsync !== 'never' && SYNCED_WRITES !== undefined;
    this.segmentFlags = synced ? SYNCED_WRITES! : 'w';
    this.datasyncAfterWrite = options.fsync !== 'never' && !synced;
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await spool.recover();
    spool.maintenanceTimer = setInterval(() => void spool.maintain(), options.maintenanceIntervalMs ?? 1000);
    spool.maintenanceTimer.unref();
    return spool;
  }

  private async recover(): Promise<void> {
    await Promise.all([mkdirDurably(this.segmentsDir), this.cursors.init()]);
    const recovered = await recoverSegments({ spoolDir: this.options.dir, segmentsDir: this.segmentsDir, damage: this.damage, logger: this.logger });
    this.segments = recovered.segments.map((file) => ({ firstSeq: file.firstSeq, path: file.path, size: file.size, createdMs: file.mtimeMs, newestMs: file.mtimeMs, sealed: true }));
    this.nextSeq = recovered.nextSeq;
    this.floorSeq = recovered.floorSeq;
    // Each named reader's start (its error is readerStart's answer, when the reader is opened).
    for (const name of this.options.readers ?? []) this.earlyStarts.set(name, this.settleReaderStart(name));
    const [segment] = await Promise.allSettled([this.startSegment(this.nextSeq), Promise.allSettled(this.earlyStarts.values())]);
    if (segment.status === 'rejected') throw segment.reason;
    const fresh = recovered.segments.length === 0 && this.nextSeq === 0;
    if (!fresh) this.logger.info('spool.opened', { dir: this.options.dir, segments: this.segments.length, nextSeq: this.nextSeq });
  }

  /**
   * Rolls to a new active segment, listed in the manifest before anything is written into it. The
   * file is made (and its directory entry synced) while the manifest is written, not after: both are
   * done before a record goes in, and a file a crash leaves unlisted is empty, which recovery deletes.
   */
  private async startSegment(firstSeq: number): Promise<void> {
    const path = join(this.segmentsDir, segmentName(firstSeq));
    this.creating = firstSeq;
    try {
      const [listed, opened] = await Promise.allSettled([
        this.persistManifest(),
        this.openForWriting(path).then(async (handle) => {
          await syncDir(this.segmentsDir).catch(async (error: unknown) => {
            await handle.close().catch(() => undefined);
            throw error;
          });
          return handle;
        }),
      ]);
      if (listed.status === 'rejected') {
        if (opened.status === 'fulfilled') await opened.value.close().catch(() => undefined);
        throw listed.reason;
      }
      if (opened.status === 'rejected') throw opened.reason;
      const handle = opened.value;
      const previous = this.segments.at(-1);
      if (previous) previous.sealed = true;
      const old = this.active as FileHandle | undefined;
      this.active = handle;
      const createdMs = Date.now();
      this.segments.push({ firstSeq, path, size: 0, createdMs, sealed: false });
      this.emit({ kind: 'roll', firstSeq, path, createdMs });
      if (old) await old.close().catch(() => undefined);
    } finally {
      this.creating = undefined;
    }
  }

  /** Opens a new segment file; something else in the way of its name (a directory, say) is moved aside once. */
  private async openForWriting(path: string): Promise<FileHandle> {
    try {
      return await open(path, this.segmentFlags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw error;
      this.damage.noteStray(path, `in the way of a new segment (${code ?? String(error)})`, await quarantine(this.options.dir, path));
      return open(path, this.segmentFlags);
    }
  }

  /** Writes the manifest as things are now; serialised, so the last one written is the newest. */
  private persistManifest(): Promise<void> {
    const write = this.manifestWrites.catch(() => undefined).then(() => {
      const segments = this.segments.map((segment) => segment.firstSeq);
      if (this.creating !== undefined) segments.push(this.creating);
      const nextSeq = this.nextSeq;
      return saveManifest(this.options.dir, { segments, nextSeq }).then(() => {
        this.manifestNextSeq = nextSeq;
      });
    });
    this.manifestWrites = write;
    return write;
  }

  /** persistManifest for upkeep: a failure is logged (the next pass tries again), not thrown. */
  private persistManifestQuietly(): Promise<boolean> {
    return this.persistManifest().then(
      () => true,
      (error: unknown) => {
        this.logger.error('spool.manifest_save_failed', { dir: this.options.dir, error });
        return false;
      },
    );
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

  /** Bytes of the segments that hold a record numbered `seq` or higher: what a reader at `seq` keeps on disk (0 when it is at the end). */
  bytesFrom(seq: number): number {
    let bytes = 0;
    if (seq >= this.nextSeq) return 0;
    this.segments.forEach((segment, index) => {
      const next = this.segments[index + 1];
      if (next === undefined || next.firstSeq > seq) bytes += segment.size;
    });
    return bytes;
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushTimer) return;
    if (this.options.commitIntervalMs <= 0) {
      this.beginWriting();
      setImmediate(() => void this.flushLoop());
    } else {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        if (this.flushing) return; // the writer is busy (a roll); it reschedules when done
        this.beginWriting();
        void this.flushLoop();
      }, this.options.commitIntervalMs);
    }
  }

  /** The writer is one at a time: group commits, and rolls asked for by readers (quarantine). */
  private beginWriting(): void {
    this.flushing = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
  }

  private endWriting(): void {
    const next = this.writerQueue.shift();
    if (next) return next(); // handed over as it is: group commits cannot starve a roll
    this.flushing = false;
    this.markIdle();
    if (this.pending.length > 0 && !this.closed) this.scheduleFlush();
  }

  /** Runs `work` as the writer, after the group commit in progress (if any). */
  private async asWriter<T>(work: () => Promise<T>): Promise<T> {
    if (this.flushing) await new Promise<void>((resolve) => this.writerQueue.push(resolve));
    else this.beginWriting();
    try {
      return await work();
    } finally {
      this.endWriting();
    }
  }

  /**
   * Group commit: writes everything pending as one write, syncs once, answers every append in it.
   * Appends that arrive during the write and sync form the next group. `always` syncs per append.
   * Never throws: whatever goes wrong is the answer to the appends it concerns.
   */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const segment = this.segments.at(-1)!;
        if (segment.size > 0 && segment.size + this.pending[0]!.bytes > this.options.segmentBytes) {
          try {
            await this.startSegment(this.nextSeq);
          } catch (error) {
            this.logger.error('spool.roll_failed', { dir: this.segmentsDir, nextSeq: this.nextSeq, error });
            this.refuse(this.takeGroup(segment.size), error);
          }
          continue;
        }
        const group = this.takeGroup(segment.size);
        await this.writeGroup(group, segment);
      }
    } catch (error) {
      this.logger.error('spool.write_failed', { error, stack: (error as Error).stack });
      this.refuse(this.pending.splice(0), error);
    } finally {
      this.endWriting();
    }
  }

  private refuse(group: PendingAppend[], error: unknown): void {
    const refusal = NO_SPACE.has((error as NodeJS.ErrnoException).code ?? '') ? this.noSpace(error) : error;
    for (const append of group) append.reject(refusal);
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
    let count = 0;
    for (const append of group) {
      bytes += append.bytes;
      count += append.payloads.length;
    }
    const firstSeq = this.nextSeq;
    if (firstSeq + count - 1 > MAX_SEQ) {
      this.refuse(group, new SparknginError('SPOOL_EXHAUSTED', `sequence numbers would pass 2^48 - 1 (next is ${firstSeq}): start a new spool`));
      return;
    }
    const buffer = Buffer.allocUnsafe(bytes);
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
      if (this.datasyncAfterWrite) await this.active.datasync();
    } catch (error) {
      await this.undoPartialWrite(segment);
      this.refuse(group, error);
      return;
    }
    this.nextSeq = seq;
    segment.size += bytes;
    segment.newestMs = Date.now();
    this.counters.appendedRecords += seq - firstSeq;
    if (this.options.fsync !== 'never') this.counters.syncs++;
    group.forEach((append, index) => append.resolve(results[index]!));
    this.emit({ kind: 'commit', nextSeq: seq, size: segment.size });
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

  /**
   * Calls `listener` with every change of the segment list from now on, synchronously as it happens;
   * returns the unsubscribe. With `snapshot()`, taken in the same turn, it is the whole story.
   */
  watch(listener: (event: SpoolEvent) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private emit(event: SpoolEvent): void {
    for (const listener of this.watchers) listener(event);
  }

  /** The segment list and the committed point as they are now: where a mirror starts. */
  snapshot(): { segments: Array<Omit<Segment, 'gone'>>; nextSeq: number; closed: boolean } {
    return { segments: this.segments.map(({ firstSeq, path, size, createdMs, sealed }) => ({ firstSeq, path, size, createdMs, sealed })), nextSeq: this.nextSeq, closed: this.closed };
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

  /** The sequence number the next appended record gets: every record before it is committed. */
  get committedSeq(): number {
    return this.nextSeq;
  }

  /**
   * Opens the reader named `name` (one per sink), resuming from its durable cursor. A cursor that
   * cannot be right (past the end of the spool, unreadable) is reset to the oldest record: the sink
   * gets everything spooled again, never a skip.
   */
  async openReader(name: string): Promise<SpoolReader> {
    const existing = this.readers.get(name);
    if (existing instanceof SpoolReader) return existing;
    const reader = new SpoolReader(this, name, await this.readerStart(name), this.logger);
    this.readers.set(name, reader);
    return reader;
  }

  /**
   * Where the reader named `name` resumes: its durable cursor, or the oldest record when it has none
   * or it cannot be right (logged and counted as a reset). For a reader on another thread, which
   * then joins with `attachReader`.
   */
  readerStart(name: string): Promise<number> {
    const early = this.earlyStarts.get(name);
    this.earlyStarts.delete(name);
    return early ?? this.settleReaderStart(name);
  }

  private async settleReaderStart(name: string): Promise<number> {
    const stored = await this.cursors.load(name);
    let start = this.floorSeq;
    if (stored.kind === 'unusable') {
      this.damage.noteCursorReset(name, `its cursor file ${this.cursors.path(name)} is ${stored.why}`, start, this.nextSeq);
    } else if (stored.kind === 'cursor' && stored.cursor.nextSeq > this.nextSeq) {
      this.damage.noteCursorReset(name, `its cursor ${stored.cursor.nextSeq} is past the end of the spool`, start, this.nextSeq);
    } else if (stored.kind === 'cursor' && stored.cursor.nextSeq < start) {
      this.logger.warn('spool.cursor_behind_spool', { sink: name, cursor: stored.cursor.nextSeq, firstSeq: start, why: 'the spool deleted those records while this sink was not configured (or dropped them at a limit)' });
    } else if (stored.kind === 'cursor') {
      start = stored.cursor.nextSeq;
    } else {
      // A new sink: its cursor from the start, so that the cursors name every sink the spool serves
      // (`sparkngin spool compact` frees nothing a sink without a cursor could still need).
      await this.cursors.save(name, { nextSeq: start });
    }
    return start;
  }

  /** Counts a reader that lives elsewhere (another thread) in retention, drops and stats, like one of openReader's. */
  attachReader(handle: ReaderHandle): void {
    this.readers.set(handle.name, handle);
  }

  /** The segment that starts at `firstSeq`, while the spool holds it. */
  segmentAt(firstSeq: number): Segment | undefined {
    return this.segments.find((segment) => segment.firstSeq === firstSeq);
  }

  /**
   * Lets go of a segment a reader cannot read: moved aside to `quarantine/` (an I/O error, a
   * directory in its place) or noted as deleted from outside. The active one is first rolled away
   * from, so the writer never writes into a file that is not there. False if it could not be done
   * now (the reader tries again later); true once the segment is no longer the spool's.
   */
  async retire(segment: Segment, how: Retirement, cause: unknown): Promise<boolean> {
    if (segment.gone) return true;
    if (segment === this.segments.at(-1)) {
      if (this.closed) return false;
      try {
        await this.asWriter(async () => {
          if (segment === this.segments.at(-1)) await this.startSegment(this.nextSeq);
        });
      } catch (error) {
        this.logger.error('spool.roll_failed', { dir: this.segmentsDir, nextSeq: this.nextSeq, error });
        return false;
      }
    }
    const index = this.segments.indexOf(segment);
    if (segment.gone || index < 0) return true;
    const toSeq = (this.segments[index + 1]?.firstSeq ?? this.nextSeq) - 1;
    this.segments.splice(index, 1);
    segment.gone = true;
    this.emit({ kind: 'gone', firstSeq: segment.firstSeq });
    if (how === 'quarantine') {
      this.damage.noteQuarantine(segment.path, await quarantine(this.options.dir, segment.path), segment.firstSeq, toSeq, cause);
    } else {
      this.logger.error('spool.segment_missing', { file: segment.path, fromSeq: segment.firstSeq, toSeq, error: cause });
    }
    await this.persistManifestQuietly();
    return true;
  }

  /** Deletes sealed segments every reader has passed. */
  private deleteDelivered(): void {
    // A reader named at open that has not joined yet resumes from its cursor, anywhere in the spool:
    // with no reader counted, everything would pass for delivered (a maintenance pass before the
    // sinks' threads attach deleted every sealed segment).
    if (this.options.readers?.some((name) => !this.readers.has(name))) return;
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

  /** Unlists the oldest segment in the manifest, then deletes its file (a crash between leaves a leftover that recovery deletes). */
  private removeOldest(): void {
    const oldest = this.segments.shift()!;
    oldest.gone = true;
    this.emit({ kind: 'gone', firstSeq: oldest.firstSeq });
    this.floorSeq = this.segments[0]!.firstSeq;
    this.damage.forgetBelow(this.floorSeq, oldest.path);
    this.refusedForSize = false;
    const deletion = this.persistManifestQuietly().then(async (saved) => {
      if (!saved) return; // still listed: deleting it now would read as a loss at the next start
      await rm(oldest.path, { force: true }).catch((error: unknown) => this.logger.error('spool.delete_failed', { file: oldest.path, error }));
    });
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }

  /** Periodic upkeep: delete delivered segments, apply the age limit, persist reader cursors and the manifest. */
  async maintain(): Promise<void> {
    this.deleteDelivered();
    if (this.options.maxAgeSeconds > 0) await this.dropAged(Date.now() - this.options.maxAgeSeconds * 1000);
    const manifest = this.manifestNextSeq === this.nextSeq || this.closed ? undefined : this.persistManifestQuietly();
    await Promise.all([...[...this.readers.values()].map((reader) => reader.persistCursor()), manifest, ...this.deletions]);
  }

  /**
   * The age limit, per segment as Kafka's retention.ms: a sealed segment whose newest record was
   * written before `limit` goes (deleted when every sink has it, dropped and counted otherwise). The
   * active segment is rolled away from once it is older than the limit (a quiet instance may take
   * days to fill one), so no segment spans more than the limit and every record goes between
   * maxAgeSeconds and twice that after it was written.
   */
  private async dropAged(limit: number): Promise<void> {
    const newest = (segment: Segment) => segment.newestMs ?? segment.createdMs;
    const active = this.segments.at(-1);
    if (active !== undefined && active.size > 0 && active.createdMs < limit && !this.closed) {
      await this.asWriter(async () => {
        if (active === this.segments.at(-1) && !this.closed) await this.startSegment(this.nextSeq);
      }).catch((error: unknown) => this.logger.error('spool.roll_failed', { dir: this.segmentsDir, nextSeq: this.nextSeq, error }));
      this.deleteDelivered();
    }
    while (this.segments.length > 1 && newest(this.segments[0]!) < limit && this.dropOldest('older than spool.maxAgeSeconds')) {
      // oldest first, each segment once all its records are past the limit
    }
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
      ...this.damage.stats(),
      full: this.isFull(),
      readers: [...this.readers.values()].map((reader) => ({ sink: reader.name, nextSeq: reader.nextSeq, skippedRecords: reader.skippedRecords })),
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
    }
    while (this.flushing) await this.idle;
    if (this.pending.length > 0) {
      this.beginWriting();
      await this.flushLoop();
    }
    this.emit({ kind: 'closed' });
    this.wakeReaders();
    await Promise.all([...this.readers.values()].map((reader) => reader.close()));
    await Promise.all(this.deletions);
    await this.persistManifestQuietly();
    await this.active.close();
  }
}
