// One sink's delivery, seen from the ingest thread: starts the sink's thread (worker.ts), feeds it
// the spool's changes, and keeps here what the ingest needs synchronously: the delivered point
// (for retention, lag, /stats), the `ack=sink` waiters with their AbortSignals, the latest numbers.
// A thread that dies (an exception nothing caught, in the sink's library say) is restarted with
// backoff from the delivered point, like a failed delivery loop: delivery is never left stopped
// while ingest answers 202. The boundary and why it is drawn here: README.md beside this file.
import { join } from 'node:path';
import { isSea } from 'node:sea';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/defaults';
import { addHistograms, COUNT_BUCKETS, emptyHistogram, SECONDS_BUCKETS } from '../ops/histogram';
import { type Logger, relayLogLine } from '../ops/log';
import type { SinkDelivery } from '../sinks/dispatcher';
import { backoffMs, settleWithin } from '../sinks/retry';
import { type TopicFilter, topicFilter } from '../sinks/route';
import type { DeliveryConfig } from '../sinks/sink';
import { DeliveryWaiters, type RangePositions } from '../sinks/waiters';
import type { ReaderHandle } from '../spool/reader';
import type { Spool } from '../spool/spool';
import { DELIVERY_ROLE, type DeliveryInit, type DeliveryStats, errorFrom, type ToDelivery, type ToIngest, seaRunner } from './protocol';

/** Past the stop deadline, how long a thread has to save its cursor and close its sink before it is ended. */
const STOP_GRACE_MS = 2000;

export interface DeliveryThreadOptions {
  name: string;
  delivery: DeliveryConfig;
  config: Config;
  logger: Logger;
  /** The script file the thread runs: by default this very bundle (or, in the single executable, its copy of it). */
  script?: string;
}

type Counters = Pick<
  DeliveryStats,
  'deliveredRecords' | 'deadLetteredRecords' | 'failedSends' | 'undecodableRecords' | 'loopRestarts' | 'skippedRecords' | 'cursorSaveFailures' | 'deadLetterDroppedRecords'
>;
const COUNTERS: ReadonlyArray<keyof Counters> = [
  'deliveredRecords',
  'deadLetteredRecords',
  'failedSends',
  'undecodableRecords',
  'loopRestarts',
  'skippedRecords',
  'cursorSaveFailures',
  'deadLetterDroppedRecords',
];
type Histograms = Pick<DeliveryStats, 'batchRecords' | 'sendSeconds'>;
const HISTOGRAMS: ReadonlyArray<keyof Histograms> = ['batchRecords', 'sendSeconds'];

/** A sink's numbers as the ingest thread knows them: its thread's, plus those of threads before it, plus the restarts of its thread. */
export type SinkThreadStats = DeliveryStats & { threadRestarts: number };

export class DeliveryThread implements SinkDelivery, ReaderHandle {
  readonly name: string;
  readonly routes: TopicFilter;
  /** Every record before this one has been accepted by the sink (as its thread last told). */
  nextSeq = 0;
  /**
   * The delivered point /stats shows: the one the latest numbers came with (so that lag and the
   * counters agree: the numbers trail `nextSeq` by up to worker.ts STATS_EVERY_MS), or a skip's.
   */
  private shownSeq = 0;
  private readonly waiters: DeliveryWaiters;
  /** The running thread's latest numbers; those of threads before it are in `carried`. */
  private latest: DeliveryStats | undefined;
  private readonly carried: Counters & Histograms = {
    deliveredRecords: 0,
    deadLetteredRecords: 0,
    failedSends: 0,
    undecodableRecords: 0,
    loopRestarts: 0,
    skippedRecords: 0,
    cursorSaveFailures: 0,
    deadLetterDroppedRecords: 0,
    batchRecords: emptyHistogram(COUNT_BUCKETS),
    sendSeconds: emptyHistogram(SECONDS_BUCKETS),
  };
  /** Server time of the oldest event the sink has in hand and not delivered, as last told (kept while a dead thread is restarted). */
  private oldestPendingTs: number | undefined;
  private worker: Worker | undefined;
  private alive = false;
  /** Set once the spool is open (`open`): a thread started after that is opened at once. */
  private spool: Spool | undefined;
  /** Settles when the running thread's sink started and its reader is set up (or it failed to). */
  private ready: Promise<void> = Promise.resolve();
  private unwatch: () => void = () => undefined;
  /** Why the last thread died, until a batch is delivered again (health `down` meanwhile). */
  private failure: string | undefined;
  private threadRestarts = 0;
  private failedInARow = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private finished = false;
  private onStopped: (() => void) | undefined;
  /** Holds on record positions (holdPositions): while any, the thread reports them. */
  private positionHolds = 0;

  /**
   * Starts the sink's thread at once: it loads and starts its sink while the spool is being opened
   * (start-up time overlaps); `open` then gives it the spool.
   */
  constructor(private readonly options: DeliveryThreadOptions) {
    this.name = options.name;
    this.routes = topicFilter(options.delivery.topics);
    this.waiters = new DeliveryWaiters(options.name);
    this.launch();
  }

  /** Gives the thread the open spool: its reader resumes from the sink's cursor. */
  async open(spool: Spool): Promise<void> {
    this.nextSeq = await spool.readerStart(this.name);
    this.shownSeq = this.nextSeq;
    spool.attachReader(this);
    this.spool = spool;
    this.sendOpen();
  }

  /** Resolves once the thread's sink started and its delivery runs (rejects as `sink.start()` did). */
  started(): Promise<void> {
    return this.ready;
  }

  get skippedRecords(): number {
    return this.carried.skippedRecords + (this.latest?.skippedRecords ?? 0);
  }

  whenDelivered(firstSeq: number, lastSeq: number, signal?: AbortSignal, positions = false): Promise<RangePositions | undefined> {
    return this.waiters.wait(() => this.nextSeq, firstSeq, lastSeq, signal, positions);
  }

  /**
   * The thread reports where records go until released. Asked before the append whose records a
   * `positions` wait covers: the message travels on the port ahead of that append's commit event,
   * so the thread cannot deliver those records before it reports positions.
   */
  holdPositions(): () => void {
    if (this.positionHolds++ === 0) this.post({ type: 'positions', report: true });
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.positionHolds === 0) this.post({ type: 'positions', report: false });
    };
  }

  stats(): SinkThreadStats {
    const latest = this.latest;
    const stats: SinkThreadStats = {
      sink: this.name,
      state: this.finished ? 'stopped' : !this.alive && this.failure !== undefined ? 'failed' : (latest?.state ?? 'idle'),
      health: this.failure !== undefined ? { state: 'down', detail: this.failure } : (latest?.health ?? { state: 'starting' }),
      nextSeq: this.shownSeq,
      deliveredRecords: 0,
      deadLetteredRecords: 0,
      failedSends: 0,
      undecodableRecords: 0,
      loopRestarts: this.threadRestarts,
      skippedRecords: 0,
      cursorSaveFailures: 0,
      deadLetterDroppedRecords: 0,
      deadLetterBytes: latest?.deadLetterBytes ?? 0,
      threadRestarts: this.threadRestarts,
      batchRecords: this.carried.batchRecords,
      sendSeconds: this.carried.sendSeconds,
    };
    for (const key of COUNTERS) stats[key] += this.carried[key] + (latest?.[key] ?? 0);
    if (latest !== undefined) for (const key of HISTOGRAMS) stats[key] = addHistograms(stats[key], latest[key]);
    const lastError = this.failure ?? latest?.lastError;
    if (lastError !== undefined) stats.lastError = lastError;
    if (this.oldestPendingTs !== undefined) stats.oldestPendingTs = this.oldestPendingTs;
    if (latest?.destination !== undefined) stats.destination = latest.destination;
    return stats;
  }

  /** The spool dropped records before `seq` (a limit): the thread's reader continues from there. */
  skipTo(seq: number): void {
    if (seq > this.nextSeq) this.nextSeq = seq;
    if (seq > this.shownSeq) this.shownSeq = seq;
    this.post({ type: 'skipTo', seq });
  }

  /**
   * Asks the thread to deliver what it can by `deadline` and stop (its dispatcher judges being caught
   * up against its mirror of the spool, which has seen every commit before this message), then to
   * save its cursor and close its sink; ends it if that takes past the deadline and a grace.
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker !== undefined && this.alive && this.spool === undefined) {
      await worker.terminate(); // never opened: nothing to deliver or save
    } else if (worker !== undefined && this.alive) {
      const stopped = new Promise<void>((resolve) => (this.onStopped = resolve));
      this.post({ type: 'stop', deadline });
      await settleWithin(stopped, Math.max(0, deadline - Date.now()) + STOP_GRACE_MS, new AbortController().signal);
      await worker.terminate();
    }
    this.finished = true;
    this.waiters.stopped();
  }

  /** The thread saves the cursor within 100 ms of each delivery; only with no thread running is it saved from here. */
  async persistCursor(): Promise<void> {
    if (this.alive) return;
    try {
      await this.spool?.cursors.save(this.name, { nextSeq: this.nextSeq });
    } catch (error) {
      this.carried.cursorSaveFailures++;
      this.options.logger.error('spool.cursor_save_failed', { sink: this.name, error });
    }
  }

  close(): Promise<void> {
    return this.persistCursor();
  }

  private post(message: ToDelivery): void {
    if (this.alive) this.worker!.postMessage(message);
  }

  /** Starts a thread; it loads and starts the sink, and waits for `open` (sent at once when the spool is already open). */
  private launch(): void {
    const { config, name } = this.options;
    const init: DeliveryInit = { role: DELIVERY_ROLE, sink: name, config, cursorsDir: join(config.dataDir, 'spool', 'cursors'), deadLetterDir: join(config.dataDir, 'dead-letter') };
    const script = ownScript(this.options.script);
    const worker = new Worker(script.code, { eval: script.eval, workerData: init, name: `sparkngin ${name} delivery` });
    this.worker = worker;
    this.alive = true;
    this.ready = new Promise((resolve, reject) => {
      let ready = false;
      let crash: unknown;
      worker.on('message', (message: ToIngest) => {
        if (message.type === 'ready') {
          ready = true;
          this.noteStats(message.stats);
          resolve();
        } else if (message.type === 'startFailed') {
          reject(errorFrom(message.error));
          void worker.terminate();
        } else {
          this.onMessage(worker, message);
        }
      });
      worker.on('error', (error) => (crash = error));
      worker.on('exit', (code) => {
        this.unwatch();
        this.alive = false;
        this.onStopped?.();
        if (!ready) return reject(crash ?? new Error(`the delivery thread of sink ${name} ended (exit code ${code}) before its sink started`));
        if (!this.stopping) this.restartAfter(crash ?? new Error(`the delivery thread ended (exit code ${code})`));
      });
    });
    // Awaited by `open` (or, after a restart, below); until then a failure must not be unhandled.
    this.ready.catch(() => undefined);
    if (this.spool !== undefined) this.sendOpen();
  }

  /** Gives the thread the spool: the snapshot, and from the same turn on every change, in order. */
  private sendOpen(): void {
    const spool = this.spool!;
    this.post({ type: 'open', startSeq: this.nextSeq, spool: spool.snapshot() });
    if (this.positionHolds > 0) this.post({ type: 'positions', report: true });
    this.unwatch = spool.watch((event) => this.post({ type: 'spool', event }));
  }

  private onMessage(worker: Worker, message: ToIngest): void {
    const { logger } = this.options;
    const spool = this.spool!;
    switch (message.type) {
      case 'progress':
        if (message.nextSeq > this.nextSeq) this.nextSeq = message.nextSeq;
        if (message.stats !== undefined) this.noteStats(message.stats);
        this.failure = undefined;
        this.failedInARow = 0;
        this.waiters.deliveredBelow(this.nextSeq);
        return;
      case 'stats':
        return this.noteStats(message.stats);
      case 'deadLettered':
        return this.waiters.deadLettered(message.seq, message.cause);
      case 'positioned':
        return this.waiters.positioned(message.seqs, message.positions);
      case 'log':
        return relayLogLine(logger, message.line);
      case 'loss':
        return spool.damage.noteLoss(message.range);
      case 'stretch':
        return spool.damage.noteStretch(message.file, message.from, message.to);
      case 'retire': {
        const segment = spool.segmentAt(message.firstSeq);
        const retiring = segment === undefined ? Promise.resolve(true) : spool.retire(segment, message.how, message.cause).catch(() => false);
        void retiring.then((done) => worker.postMessage({ type: 'retired', id: message.id, done } satisfies ToDelivery));
        return;
      }
      case 'stopped':
        if (message.stats !== undefined) this.noteStats(message.stats);
        this.onStopped?.();
        return;
    }
  }

  private noteStats(stats: DeliveryStats): void {
    this.latest = stats;
    if (stats.nextSeq > this.shownSeq) this.shownSeq = stats.nextSeq;
    this.oldestPendingTs = stats.oldestPendingTs;
  }

  /** The thread died unexpectedly: keep its numbers, show the sink down, start another after a backoff. */
  private restartAfter(error: unknown): void {
    if (this.latest !== undefined) {
      for (const key of COUNTERS) this.carried[key] += this.latest[key];
      for (const key of HISTOGRAMS) this.carried[key] = addHistograms(this.carried[key], this.latest[key]);
    }
    this.latest = undefined;
    this.threadRestarts++;
    const wait = backoffMs(this.options.delivery.retry, this.failedInARow++);
    this.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.options.logger.error('sink.thread_failed', { sink: this.name, error: this.failure, stack: (error as Error)?.stack, restartInMs: wait });
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.launch();
      this.ready.catch((failed: unknown) => this.restartAfter(failed));
    }, wait);
  }
}

/**
 * The script a thread of this daemon (delivery or ingest) runs: this very bundle's own file; in the
 * single executable (no file to point at) the lines that run the copy of it the executable carries,
 * as its main thread does (protocol.ts seaRunner): the thread decodes the 1.7 MB of text itself, off
 * the main thread, and compiles it with the code cache. `script`: another file instead (tests).
 */
export function ownScript(script?: string): { code: string; eval: boolean } {
  if (script !== undefined) return { code: script, eval: false };
  return isSea() ? { code: seaRunner(), eval: true } : { code: __filename, eval: false };
}
