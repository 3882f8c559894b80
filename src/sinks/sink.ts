// The one interface every sink implements. A sink author writes I/O only: reading the spool,
// batching, retries, dead letters, cursors, restarts and metrics belong to the Dispatcher
// (dispatcher.ts). The contract is written out in README.md beside this file.
import type { Envelope } from '../envelope/envelope';
import type { CommonSinkConfig } from './kind';

export type SinkState = 'starting' | 'up' | 'down';

export interface SinkHealth {
  state: SinkState;
  /** What is wrong, when it is down. */
  detail?: string;
}

/**
 * What a failed send means, as the sink's `classify` judges it:
 * - `retriable`: the destination may take the same batch later (down, full, slow): retry with backoff.
 * - `permanent`: the destination will never take some record of the batch as it is (too large, a
 *   name it cannot hold): find the records refused on their own and park them in the dead-letter file.
 * - `bug`: a programming error: park nothing, keep the cursor, show the sink down, log at error and
 *   restart the delivery loop with backoff.
 */
export type FailureClass = 'retriable' | 'permanent' | 'bug';

/** Where a destination put a record: Kafka's partition and offset. */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/**
 * What a send may report besides success: where each envelope of the batch went, in batch order
 * (undefined where the sink cannot tell). Only `ack=sink` requests that ask for it use it (the REST
 * Proxy compatible routes answer with Kafka's offsets); a sink that has no such thing returns nothing.
 */
export type SentPositions = ReadonlyArray<RecordPosition | undefined>;

export interface SendOptions {
  /** Someone waits to learn where the records go: a sink that can tell resolves with SentPositions. */
  positions?: boolean;
}

export interface Sink {
  /** Unique name: the cursor file, the dead-letter file, metrics and logs use it. */
  readonly name: string;
  /** Prepares the sink; must not fail because the destination is unreachable (send retries that). */
  start(): Promise<void>;
  /**
   * Resolves once the destination has accepted every envelope of the batch; on failure throws the
   * error as it is (with context), and `classify` says what it means. May resolve with where each
   * envelope went (SentPositions) when `options.positions` asks.
   */
  send(batch: Envelope[], options?: SendOptions): Promise<void | SentPositions>;
  /** What an error thrown by `send` means; anything it does not know is `retriable`. */
  classify(error: unknown): FailureClass;
  /**
   * Optional: a cheap check that the destination answers again (a connection, a metadata request),
   * resolving when it does and rejecting when not. While a retry waits long, the dispatcher probes
   * every second and retries at once when a probe succeeds, so that a recovered destination is used
   * within a second or two rather than at the end of a backoff of up to `retry.maxMs`.
   */
  probe?(): Promise<void>;
  stop(): Promise<void>;
  health(): SinkHealth;
  /** Optional: numbers of the destination's own (ZeroMQ peers, PUB drops), shown in /stats as `destination`. */
  counters?(): Record<string, number>;
}

/** The delivery settings every sink has, next to its own ones (`topics`: as the routes give them). */
export type DeliveryConfig = Pick<CommonSinkConfig, 'topics' | 'batch' | 'retry'> & Partial<Pick<CommonSinkConfig, 'rename' | 'filter'>>;
