// One dispatcher per sink: reads batches from the sink's spool reader, hands the routed envelopes to
// the sink, and decides from the sink's `classify(error)` what a failure means: retriable ones are
// retried with exponential backoff and jitter (probing the destination meanwhile) for as long as the
// destination is down; records the destination refuses for good are parked in the dead-letter file;
// a programming error parks nothing, shows the sink down and restarts the loop with backoff. Only
// then does the sink's cursor move. A slow, dead or buggy sink holds back nobody but itself.
// The states and the contract are described in README.md beside this file.
import { decodeEnvelope, decodeLike, peekTopic } from '../envelope/codec-binary';
import type { Envelope } from '../envelope/envelope';
import { isProgrammingError } from '../errors';
import { COUNT_BUCKETS, Histogram, type HistogramSnapshot, SECONDS_BUCKETS } from '../ops/histogram';
import type { Logger } from '../ops/log';
import type { SpoolReader, SpoolRecord } from '../spool/reader';
import type { DeadLetterFile } from './dead-letter';
import { backoffMs, settleWithin, sleep } from './retry';
import type { TopicFilter } from './route';
import type { DeliveryConfig, FailureClass, SentPositions, Sink, SinkHealth } from './sink';
import { DeliveryWaiters, type RangePositions } from './waiters';

/** How often a sink that can probe its destination is asked while a retry waits longer than this. */
export const PROBE_INTERVAL_MS = 1000;

/** How often a sink's own counters (Sink.counters) are looked at for a change to report. */
const COUNTERS_INTERVAL_MS = 500;

export interface DispatcherStats {
  sink: string;
  /** `failed`: the delivery loop stopped on an unexpected error and restarts after a backoff. */
  state: 'idle' | 'sending' | 'retrying' | 'failed' | 'stopped';
  /** The sink's own health, or `down` with the error while the loop is failed or not yet past it. */
  health: SinkHealth;
  /** Sequence number of the next record this sink has not yet had accepted. */
  nextSeq: number;
  deliveredRecords: number;
  deadLetteredRecords: number;
  failedSends: number;
  undecodableRecords: number;
  /** Times the delivery loop was restarted after an unexpected error (a bug, or a dead-letter file it could not write). */
  loopRestarts: number;
  lastError?: string;
  /** Records per send the sink accepted. */
  batchRecords: HistogramSnapshot;
  /** Seconds each accepted send took. */
  sendSeconds: HistogramSnapshot;
  /** Server time (ms) of the oldest event in hand not yet accepted; absent when none is (lag seconds are measured from it). */
  oldestPendingTs?: number;
  /** The sink's own numbers (Sink.counters), when it has any. */
  destination?: Record<string, number>;
}

/**
 * What the ingest needs of a sink's delivery, wherever it runs (this thread, or a delivery thread
 * behind src/delivery/delivery-thread.ts): its routes for `ack=sink`, waits on its progress, its
 * numbers, and a graceful stop.
 */
export interface SinkDelivery {
  readonly name: string;
  routes(topic: string): boolean;
  /** Resolves once firstSeq..lastSeq are delivered; with `positions`, with where each record went (waiters.ts). */
  whenDelivered(firstSeq: number, lastSeq: number, signal?: AbortSignal, positions?: boolean): Promise<RangePositions | undefined>;
  /**
   * Has the sink report where records go (RecordPosition) from now until the returned function is
   * called. Called before the append whose records a `positions` wait covers, so that no report of
   * them can come before it (src/delivery/README.md).
   */
  holdPositions?(): () => void;
  stats(): DispatcherStats;
  /** Delivers what it can by `deadline`, then stops (see Dispatcher.stop). */
  stop(deadline: number, caughtUp: () => boolean): Promise<void>;
}

/** What a Dispatcher tells whoever carries its progress elsewhere (the delivery thread's messages to the ingest). */
export interface DispatcherListener {
  /** Records before `nextSeq` are delivered or parked: the cursor moved. */
  committed(nextSeq: number): void;
  /** Record `seq` was parked in the dead-letter file for `cause`. */
  deadLettered(seq: number, cause: { code?: string; message: string }): void;
  /** The state or a counter changed. */
  changed(): void;
  /** Records `seqs[i]` went to `positions[i]` (only while `reportPositions` is on). */
  positioned?(seqs: number[], positions: SentPositions): void;
}

interface Routed {
  seq: number;
  /** As the sink is given it (renamed, when the sink renames topics). */
  envelope: Envelope;
  /** As it was spooled: what a dead letter keeps. */
  original: Envelope;
}

/** What a sink takes of the spool, and under which topic (src/sinks/route.ts). */
export interface SinkRoute {
  topics: TopicFilter;
  /** The key and header filter, if the sink has one. */
  filter?: (envelope: Envelope) => boolean;
  /** The topic the sink is given, if it renames. */
  rename?: (topic: string) => string;
}

/** A batch read from the spool and not yet committed: kept across a restart of the loop, so that nothing read is skipped. */
interface Pending {
  records: SpoolRecord[];
  routed?: Routed[];
}

export class Dispatcher implements SinkDelivery {
  readonly routes: TopicFilter;
  private readonly route: SinkRoute;
  private _state: DispatcherStats['state'] = 'idle';
  private readonly counters = { deliveredRecords: 0, deadLetteredRecords: 0, failedSends: 0, undecodableRecords: 0, loopRestarts: 0 };
  private readonly batchRecords = new Histogram(COUNT_BUCKETS);
  private readonly sendSeconds = new Histogram(SECONDS_BUCKETS);
  private lastError: string | undefined;
  /** Set when the loop failed unexpectedly; cleared once a batch is delivered again. */
  private failure: string | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private pending: Pending | undefined;
  private readAhead: Promise<SpoolRecord[]> | undefined;
  private readonly abort = new AbortController();
  private countersTimer: NodeJS.Timeout | undefined;
  private readonly waiters: DeliveryWaiters;
  /** Someone elsewhere (the ingest thread) wants record positions: they go to `listener.positioned`. */
  reportPositions = false;
  private positionHolds = 0;

  constructor(
    readonly sink: Sink,
    private readonly reader: SpoolReader,
    private readonly delivery: DeliveryConfig,
    route: SinkRoute | TopicFilter,
    private readonly deadLetters: DeadLetterFile,
    private readonly logger: Logger,
    private readonly listener?: DispatcherListener,
  ) {
    this.route = typeof route === 'function' ? { topics: route } : route;
    this.routes = this.route.topics;
    this.waiters = new DeliveryWaiters(sink.name);
  }

  get name(): string {
    return this.sink.name;
  }

  private get state(): DispatcherStats['state'] {
    return this._state;
  }

  private set state(state: DispatcherStats['state']) {
    if (state === this._state) return;
    this._state = state;
    this.listener?.changed();
  }

  start(): void {
    this.running = true;
    this.loop = this.supervise();
    // A destination's own numbers (subscribers coming and going, say) change between batches too.
    if (this.sink.counters !== undefined) {
      let last = '';
      this.countersTimer = setInterval(() => {
        const now = JSON.stringify(this.sink.counters!());
        if (now !== last) this.listener?.changed();
        last = now;
      }, COUNTERS_INTERVAL_MS).unref();
    }
  }

  /**
   * Runs the delivery loop, and restarts it with backoff whenever it fails unexpectedly (a sink's
   * programming error, a dead-letter file that cannot be written): never left stopped while ingest
   * goes on answering 202. The batch in hand stays pending, so a restart sends it again (at least
   * once) and the cursor never moves past it.
   */
  private async supervise(): Promise<void> {
    let restart = 0;
    while (this.running) {
      try {
        await this.run();
        return;
      } catch (error) {
        if (!this.running) return;
        // The backoff grows only while the loop keeps failing without delivering anything in between.
        if (this.failure === undefined) restart = 0;
        const wait = backoffMs(this.delivery.retry, restart++);
        this.counters.loopRestarts++;
        this.failure = describeError(error);
        this.lastError = this.failure;
        this.state = 'failed';
        this.listener?.changed();
        this.logger.error('sink.loop_failed', { sink: this.sink.name, error: this.failure, stack: (error as Error)?.stack, restartInMs: wait });
        await sleep(wait, this.abort.signal);
      }
    }
  }

  /**
   * Stops after delivering what it can by `deadline` (ms since epoch): keeps going while records
   * are waiting and time is left, then interrupts reading and any backoff. What was not delivered
   * stays in the spool for the next start.
   */
  async stop(deadline: number, caughtUp: () => boolean): Promise<void> {
    while (Date.now() < deadline && !caughtUp() && this.state !== 'retrying' && this.state !== 'failed' && this.state !== 'stopped') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.running = false;
    clearInterval(this.countersTimer);
    this.abort.abort();
    this.reader.interrupt();
    const timeLeft = Math.max(0, deadline - Date.now());
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, timeLeft).unref())]);
    this.state = 'stopped';
    this.waiters.stopped();
  }

  /** See DeliveryWaiters.wait: resolves once firstSeq..lastSeq are accepted by this sink. */
  whenDelivered(firstSeq: number, lastSeq: number, signal?: AbortSignal, positions = false): Promise<RangePositions | undefined> {
    return this.waiters.wait(() => this.reader.nextSeq, firstSeq, lastSeq, signal, positions);
  }

  holdPositions(): () => void {
    this.positionHolds++;
    let held = true;
    return () => {
      if (held) this.positionHolds--;
      held = false;
    };
  }

  stats(): DispatcherStats {
    const health: SinkHealth = this.failure === undefined ? this.sink.health() : { state: 'down', detail: this.failure };
    const stats: DispatcherStats = {
      sink: this.sink.name,
      state: this.state,
      health,
      nextSeq: this.reader.nextSeq,
      ...this.counters,
      batchRecords: this.batchRecords.snapshot(),
      sendSeconds: this.sendSeconds.snapshot(),
    };
    if (this.lastError !== undefined) stats.lastError = this.lastError;
    const oldest = this.pending?.routed?.[0]?.envelope.ts;
    if (oldest !== undefined) stats.oldestPendingTs = oldest;
    const destination = this.sink.counters?.();
    if (destination !== undefined) stats.destination = destination;
    return stats;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pending ??= { records: await this.nextRecords() };
      if (!this.running) return;
      const pending = this.pending;
      if (pending.records.length > 0) {
        pending.routed ??= this.select(pending.records);
        if (pending.routed.length > 0 && !(await this.deliver(pending.routed))) return; // stopping mid-retry: keep the cursor
        this.reader.commit(pending.records.at(-1)!.seq + 1);
        this.failure = undefined;
        this.listener?.committed(this.reader.nextSeq);
      }
      this.pending = undefined;
      this.waiters.deliveredBelow(this.reader.nextSeq);
    }
  }

  /**
   * The next records from the spool; the batch after them is read from disk while these are on the
   * wire. When these took everything committed (the sink has caught up), that read first waits
   * `batch.lingerMs`, so that events arriving one by one go out a batch per send rather than a few
   * per send: each send has a fixed price (a Kafka produce request costs the broker and this thread
   * the same for 30 records as for 300). A backlog is read without a pause.
   */
  private async nextRecords(): Promise<SpoolRecord[]> {
    const reading = this.readAhead ?? this.read(0);
    this.readAhead = undefined;
    const records = await reading;
    if (this.running && records.length > 0) this.readAhead = this.read(this.reader.caughtUp ? this.delivery.batch.lingerMs : 0);
    return records;
  }

  private read(lingerMs: number): Promise<SpoolRecord[]> {
    const { maxRecords, maxBytes } = this.delivery.batch;
    const reading =
      lingerMs > 0
        ? sleep(lingerMs, this.abort.signal).then(() => (this.running ? this.reader.read(maxRecords, maxBytes) : []))
        : this.reader.read(maxRecords, maxBytes);
    // Awaited later; until then a failure must not surface as an unhandled rejection.
    reading.catch(() => undefined);
    return reading;
  }

  /**
   * The records this sink takes, decoded: the topic is read from the header first (peekTopic), and
   * only the records whose topic the sink takes are decoded whole.
   */
  private select(records: SpoolRecord[]): Routed[] {
    const { topics, filter, rename } = this.route;
    const routed: Routed[] = [];
    // The last record decoded whole: the records after it with the same fields (those of one
    // request, mostly) share its topic, key, address, host and headers, checked byte for byte, and
    // only their id and payload are read (decodeLike). The model's topic is one the sink takes, so
    // a record alike needs no topic test of its own; any other has its topic read first.
    let model: Envelope | undefined;
    let modelBytes: Buffer | undefined;
    for (const record of records) {
      let envelope: Envelope | undefined;
      try {
        if (model !== undefined) envelope = decodeLike(record.payload, model, modelBytes!);
        if (envelope === undefined) {
          if (!topics(peekTopic(record.payload))) continue;
          envelope = decodeEnvelope(record.payload);
          model = envelope;
          modelBytes = record.payload;
        }
      } catch (error) {
        // The CRC held, so these are the bytes we wrote: a record from an incompatible version.
        this.counters.undecodableRecords++;
        this.listener?.changed();
        this.logger.error('dispatcher.undecodable_record', { sink: this.sink.name, seq: record.seq, error });
        continue;
      }
      if (filter !== undefined && !filter(envelope)) continue;
      routed.push({ seq: record.seq, envelope: rename === undefined ? envelope : { ...envelope, topic: rename(envelope.topic) }, original: envelope });
    }
    return routed;
  }

  /**
   * Delivers the batch (retrying while it fails retriably); false if stopped before it could.
   * Throws what the sink classified as a bug, for `supervise` to restart the loop.
   */
  private async deliver(batch: Routed[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      this.state = attempt === 0 ? 'sending' : 'retrying';
      try {
        const wanted = this.reportPositions || this.positionHolds > 0 || this.waiters.wantsPositions();
        const envelopes = batch.map((item) => item.envelope);
        const started = performance.now();
        const positions = await (wanted ? this.sink.send(envelopes, { positions: true }) : this.sink.send(envelopes));
        this.sendSeconds.observe((performance.now() - started) / 1000);
        this.batchRecords.observe(batch.length);
        if (positions) this.positioned(batch, positions);
        this.state = 'idle';
        this.counters.deliveredRecords += batch.length;
        if (attempt > 0) this.logger.info('sink.recovered', { sink: this.sink.name, afterAttempts: attempt });
        return true;
      } catch (error) {
        this.counters.failedSends++;
        this.lastError = describeError(error);
        this.listener?.changed();
        const failure = this.classify(error);
        if (failure === 'bug') throw error;
        if (failure === 'permanent') return this.isolate(batch, error);
        const wait = backoffMs(this.delivery.retry, attempt);
        this.logger[attempt === 0 ? 'warn' : 'debug']('sink.send_failed', { sink: this.sink.name, records: batch.length, attempt, retryInMs: wait, error });
        if (!this.running) return false;
        await this.backoff(wait);
        if (!this.running) return false;
      }
    }
  }

  /** Hands on where the records went, if anyone (a waiter here, or the ingest thread) wants to know. */
  private positioned(batch: Routed[], positions: SentPositions): void {
    const here = this.positionHolds > 0 || this.waiters.wantsPositions();
    if (!here && !this.reportPositions) return;
    const seqs = batch.map((item) => item.seq);
    if (here) this.waiters.positioned(seqs, positions);
    if (this.reportPositions) this.listener?.positioned?.(seqs, positions);
  }

  /** The sink's verdict; a programming error is a bug whatever the sink says, and so is a classify that throws. */
  private classify(error: unknown): FailureClass {
    if (isProgrammingError(error)) return 'bug';
    try {
      return this.sink.classify(error);
    } catch {
      return 'bug';
    }
  }

  /**
   * Waits `ms` before the next try, or less: a sink that can probe its destination is asked every
   * PROBE_INTERVAL_MS, and the wait ends as soon as a probe succeeds (stop() ends it too).
   */
  private async backoff(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (this.sink.probe === undefined || left <= PROBE_INTERVAL_MS) return sleep(left, this.abort.signal);
      await sleep(PROBE_INTERVAL_MS, this.abort.signal);
      if (!this.running) return;
      // A probe that hangs (a destination that accepts connections and never answers) cannot stretch the wait.
      const answered = await settleWithin(
        this.sink.probe().then(() => true),
        until - Date.now(),
        this.abort.signal,
      );
      if (answered) {
        this.logger.info('sink.probe_succeeded', { sink: this.sink.name, backoffLeftMs: Math.max(0, until - Date.now()) });
        return;
      }
      if (!this.running || Date.now() >= until) return;
    }
  }

  /**
   * The batch was refused for good: halve it until the records refused on their own are found, and
   * park those (log2(n) extra sends for one bad record, instead of n).
   */
  private async isolate(batch: Routed[], cause: unknown): Promise<boolean> {
    if (batch.length === 1) {
      const [only] = batch as [Routed];
      await this.deadLetters.park(only.original, { code: (cause as { code?: string }).code ?? 'UNKNOWN', message: (cause as Error).message });
      this.counters.deadLetteredRecords++;
      this.logger.error('sink.dead_lettered', { sink: this.sink.name, id: only.envelope.id, topic: only.envelope.topic, file: this.deadLetters.path, error: cause });
      const reason = { code: (cause as { code?: string }).code, message: (cause as Error).message };
      this.waiters.deadLettered(only.seq, reason);
      this.listener?.deadLettered(only.seq, reason);
      return true;
    }
    const half = Math.ceil(batch.length / 2);
    return (await this.deliver(batch.slice(0, half))) && (await this.deliver(batch.slice(half)));
  }

}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return isProgrammingError(error) ? `${error.name}: ${error.message}` : error.message;
}
