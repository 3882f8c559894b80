// One dispatcher per sink: reads batches from the sink's spool reader, hands the routed envelopes to
// the sink, retries with exponential backoff and jitter for as long as the destination is down,
// parks records the destination refuses for good in the dead-letter file, and only then moves the
// sink's cursor. A slow or dead sink therefore holds back nobody but itself.
import { decodeEnvelope } from '../envelope/codec-binary';
import type { Envelope } from '../envelope/envelope';
import { isProgrammingError, SinkError } from '../errors';
import type { Logger } from '../ops/log';
import type { SpoolReader, SpoolRecord } from '../spool/reader';
import type { DeadLetterFile } from './dead-letter';
import { backoffMs, sleep } from './retry';
import type { TopicFilter } from './route';
import type { DeliveryConfig, Sink } from './sink';

export interface DispatcherStats {
  sink: string;
  state: 'idle' | 'sending' | 'retrying' | 'stopped';
  health: ReturnType<Sink['health']>;
  /** Sequence number of the next record this sink has not yet had accepted. */
  nextSeq: number;
  deliveredRecords: number;
  deadLetteredRecords: number;
  failedSends: number;
  undecodableRecords: number;
  lastError?: string;
}

interface Waiter {
  firstSeq: number;
  lastSeq: number;
  resolve(): void;
  reject(error: Error): void;
}

interface Routed {
  seq: number;
  envelope: Envelope;
}

export class Dispatcher {
  readonly routes: TopicFilter;
  private state: DispatcherStats['state'] = 'idle';
  private readonly counters = { deliveredRecords: 0, deadLetteredRecords: 0, failedSends: 0, undecodableRecords: 0 };
  private lastError: string | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private waiters: Waiter[] = [];

  constructor(
    readonly sink: Sink,
    private readonly reader: SpoolReader,
    private readonly delivery: DeliveryConfig,
    routes: TopicFilter,
    private readonly deadLetters: DeadLetterFile,
    private readonly logger: Logger,
  ) {
    this.routes = routes;
  }

  start(): void {
    this.running = true;
    this.loop = this.run().catch((error: unknown) => {
      // Only a bug gets here (every I/O error is retried or parked); make it loud, not silent.
      this.logger.error('dispatcher.crashed', { sink: this.sink.name, error, stack: (error as Error).stack });
      this.state = 'stopped';
    });
  }

  /**
   * Stops after delivering what it can by `deadline` (ms since epoch): keeps going while records
   * are waiting and time is left, then interrupts reading and any backoff. What was not delivered
   * stays in the spool for the next start.
   */
  async stop(deadline: number, caughtUp: () => boolean): Promise<void> {
    while (Date.now() < deadline && !caughtUp() && this.state !== 'retrying' && this.state !== 'stopped') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.running = false;
    this.abort.abort();
    this.reader.interrupt();
    const timeLeft = Math.max(0, deadline - Date.now());
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, timeLeft).unref())]);
    this.state = 'stopped';
    for (const waiter of this.waiters) waiter.reject(new SinkError(this.sink.name, 'stopped before delivery', { retriable: true }));
    this.waiters = [];
  }

  /** Resolves once records firstSeq..lastSeq are accepted; rejects if any was dead-lettered. */
  whenDelivered(firstSeq: number, lastSeq: number): Promise<void> {
    if (this.reader.nextSeq > lastSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ firstSeq, lastSeq, resolve, reject }));
  }

  stats(): DispatcherStats {
    const stats: DispatcherStats = { sink: this.sink.name, state: this.state, health: this.sink.health(), nextSeq: this.reader.nextSeq, ...this.counters };
    if (this.lastError !== undefined) stats.lastError = this.lastError;
    return stats;
  }

  private async run(): Promise<void> {
    const { maxRecords, maxBytes } = this.delivery.batch;
    let reading = this.reader.read(maxRecords, maxBytes);
    while (this.running) {
      const records = await reading;
      // Read the next batch from disk while this one is on the wire.
      if (!this.running) return;
      reading = this.reader.read(maxRecords, maxBytes);
      if (records.length === 0) continue;
      const routed = this.route(records);
      if (routed.length > 0 && !(await this.deliver(routed))) return; // stopping mid-retry: keep the cursor
      this.reader.commit(records.at(-1)!.seq + 1);
      this.settleWaiters();
    }
  }

  private route(records: SpoolRecord[]): Routed[] {
    const routed: Routed[] = [];
    for (const record of records) {
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(record.payload);
      } catch (error) {
        // The CRC held, so these are the bytes we wrote: a record from an incompatible version.
        this.counters.undecodableRecords++;
        this.logger.error('dispatcher.undecodable_record', { sink: this.sink.name, seq: record.seq, error });
        continue;
      }
      if (this.routes(envelope.topic)) routed.push({ seq: record.seq, envelope });
    }
    return routed;
  }

  /** Delivers the batch (retrying while it fails retriably); false if stopped before it could. */
  private async deliver(batch: Routed[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      this.state = attempt === 0 ? 'sending' : 'retrying';
      try {
        await this.sink.send(batch.map((item) => item.envelope));
        this.state = 'idle';
        this.counters.deliveredRecords += batch.length;
        if (attempt > 0) this.logger.info('sink.recovered', { sink: this.sink.name, afterAttempts: attempt });
        return true;
      } catch (error) {
        this.counters.failedSends++;
        this.lastError = (error as Error).message;
        if (!isRetriable(error)) return this.isolate(batch, error);
        const wait = backoffMs(this.delivery.retry, attempt);
        this.logger[attempt === 0 ? 'warn' : 'debug']('sink.send_failed', { sink: this.sink.name, records: batch.length, attempt, retryInMs: wait, error });
        if (!this.running) return false;
        await sleep(wait, this.abort.signal);
        if (!this.running) return false;
      }
    }
  }

  /**
   * The batch was refused for good: halve it until the records refused on their own are found, and
   * park those (log2(n) extra sends for one bad record, instead of n).
   */
  private async isolate(batch: Routed[], cause: unknown): Promise<boolean> {
    if (batch.length === 1) {
      const [only] = batch as [Routed];
      await this.deadLetters.park(only.envelope, { code: (cause as { code?: string }).code ?? 'UNKNOWN', message: (cause as Error).message });
      this.counters.deadLetteredRecords++;
      this.logger.error('sink.dead_lettered', { sink: this.sink.name, id: only.envelope.id, topic: only.envelope.topic, file: this.deadLetters.path, error: cause });
      this.rejectWaitersCovering(only.seq, cause);
      return true;
    }
    const half = Math.ceil(batch.length / 2);
    return (await this.deliver(batch.slice(0, half))) && (await this.deliver(batch.slice(half)));
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const next = this.reader.nextSeq;
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.lastSeq >= next) return true;
      waiter.resolve();
      return false;
    });
  }

  private rejectWaitersCovering(seq: number, cause: unknown): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (seq < waiter.firstSeq || seq > waiter.lastSeq) return true;
      waiter.reject(new SinkError(this.sink.name, `the destination refused an event for good: ${(cause as Error).message}`, { cause }));
      return false;
    });
  }
}

function isRetriable(error: unknown): boolean {
  if (isProgrammingError(error)) return false;
  return !(error instanceof SinkError) || error.retriable;
}
