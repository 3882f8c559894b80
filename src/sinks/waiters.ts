// The `ack=sink` requests waiting for one sink: each waits for a range of sequence numbers to be
// delivered, and is settled by the sink's progress (resolved once its cursor passes the range,
// rejected when a record of it was dead-lettered or the sink stopped). Kept beside whatever knows
// that progress: the Dispatcher on its own thread, or, when it runs on a delivery thread, the
// ingest thread's proxy of it (src/delivery/delivery-thread.ts), so that the requests, their
// AbortSignals and their bound never leave the thread that answers them.
//
// A waiter may also ask where the destination put each of its records (Kafka: partition and
// offset; the REST Proxy compatible routes answer with them). Only a sink whose send reports
// positions (sink.ts) gives them; the waiter's array is filled as they are reported, which is
// before the progress that resolves it, and what was never reported stays null. Such a waiter
// learns each record's outcome rather than the first failure: a dead-lettered record's slot holds
// the SinkError it would have been rejected with, and the waiter still resolves once the cursor
// passes its range (a dead-lettered record is behind the cursor, like a delivered one), so that the
// REST Proxy's v2 answer can tell which records are in Kafka and which were refused.
import { SinkError } from '../errors';
import type { RecordPosition } from './sink';

/** What became of each record of a waited range, in sequence order: where it went, the sink's refusal (dead-lettered), or null where the sink did not say. */
export type RangePositions = Array<RecordPosition | SinkError | null>;

interface Waiter {
  firstSeq: number;
  lastSeq: number;
  /** Set when the waiter asked for positions. */
  positions: RangePositions | undefined;
  resolve(positions: RangePositions | undefined): void;
  reject(error: Error): void;
}

export class DeliveryWaiters {
  private waiters: Waiter[] = [];
  /** Waiters given up (aborted) but still in `waiters`; they are swept out once they are half of it. */
  private dropped = 0;
  /** Live waiters that asked for positions. */
  private positionWaiters = 0;

  constructor(private readonly sink: string) {}

  /**
   * Resolves once records firstSeq..lastSeq are delivered (`delivered()` is past lastSeq); rejects
   * if any was dead-lettered, or with the signal's reason once `signal` aborts (the request timed
   * out or its client left): the waiter then holds nothing of the request any more. With
   * `positions`, resolves with each record's outcome (RangePositions; a dead letter does not
   * reject it), else with undefined.
   */
  wait(delivered: () => number, firstSeq: number, lastSeq: number, signal?: AbortSignal, positions = false): Promise<RangePositions | undefined> {
    if (delivered() > lastSeq) return Promise.resolve(positions ? newOutcomes(lastSeq - firstSeq + 1) : undefined);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => this.drop(waiter, signal!.reason);
      const settled = <T>(settle: (value: T) => void) => (value: T) => {
        signal?.removeEventListener('abort', onAbort);
        if (waiter.positions !== undefined) this.positionWaiters--;
        settle(value);
      };
      const waiter: Waiter = {
        firstSeq,
        lastSeq,
        positions: positions ? newOutcomes(lastSeq - firstSeq + 1) : undefined,
        resolve: settled(resolve),
        reject: settled(reject),
      };
      if (positions) this.positionWaiters++;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Whether a live waiter wants positions (the dispatcher reports them only then). */
  wantsPositions(): boolean {
    return this.positionWaiters > 0;
  }

  /** Records `seqs[i]` went to `positions[i]`: kept by the waiters that asked and hold them. */
  positioned(seqs: readonly number[], positions: ReadonlyArray<RecordPosition | undefined>): void {
    if (this.positionWaiters === 0) return;
    for (const waiter of this.waiters) {
      const held = waiter.positions;
      if (held === undefined) continue;
      for (let i = 0; i < seqs.length; i++) {
        const seq = seqs[i]!;
        const position = positions[i];
        if (seq >= waiter.firstSeq && seq <= waiter.lastSeq && position !== undefined) held[seq - waiter.firstSeq] = position;
      }
    }
  }

  /** Every record before `nextSeq` is delivered: settles the waiters it covers. */
  deliveredBelow(nextSeq: number): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.lastSeq >= nextSeq) return true;
      waiter.resolve(waiter.positions);
      return false;
    });
  }

  /**
   * Record `seq` was dead-lettered: the requests holding it learn that a sink refused it for good,
   * those that asked for positions in its slot (they wait on for the rest), the others at once.
   */
  deadLettered(seq: number, cause: { code?: string; message: string }): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (seq < waiter.firstSeq || seq > waiter.lastSeq) return true;
      const refusal = new SinkError(this.sink, `the destination refused an event for good: ${cause.message}`, { cause });
      if (waiter.positions === undefined) {
        waiter.reject(refusal);
        return false;
      }
      waiter.positions[seq - waiter.firstSeq] = refusal;
      return true;
    });
  }

  /** The sink stopped: nobody waits for it any more. */
  stopped(): void {
    for (const waiter of this.waiters) waiter.reject(new SinkError(this.sink, 'stopped before delivery', { retriable: true }));
    this.waiters = [];
  }

  /** Live waiters and those dropped but not yet swept (for tests of the sweep). */
  count(): { live: number; dropped: number } {
    const gone = this.waiters.filter((waiter) => waiter.resolve === dropped).length;
    return { live: this.waiters.length - gone, dropped: gone };
  }

  /** Settles an aborted waiter now; its entry is a few bytes and goes with the next sweep (amortised O(1)). */
  private drop(waiter: Waiter, reason: unknown): void {
    const reject = waiter.reject;
    waiter.resolve = waiter.reject = dropped;
    reject(reason as Error);
    waiter.positions = undefined;
    if (++this.dropped * 2 >= this.waiters.length) {
      this.waiters = this.waiters.filter((entry) => entry.resolve !== dropped);
      this.dropped = 0;
    }
  }
}

function dropped(): void {}

function newOutcomes(count: number): RangePositions {
  return new Array<RecordPosition | SinkError | null>(count).fill(null);
}
