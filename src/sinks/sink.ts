// The one interface every sink implements. A sink author writes I/O only: reading the spool,
// batching, retries, dead letters, cursors and metrics belong to the Dispatcher (dispatcher.ts).
import type { BatchConfig, RetryConfig } from '../config/defaults';
import type { Envelope } from '../envelope/envelope';

export type SinkState = 'starting' | 'up' | 'down';

export interface SinkHealth {
  state: SinkState;
  /** What is wrong, when it is down. */
  detail?: string;
}

export interface Sink {
  /** Unique name: the cursor file, the dead-letter file, metrics and logs use it. */
  readonly name: string;
  /** Prepares the sink; must not fail because the destination is unreachable (send retries that). */
  start(): Promise<void>;
  /**
   * Resolves once the destination has accepted every envelope of the batch. Throws a SinkError:
   * `retriable: true` (the default for anything unknown) means try the same batch again later;
   * `retriable: false` means the destination will never take it as it is — the dispatcher then
   * sends the records one by one and parks those refused alone in the dead-letter file.
   */
  send(batch: Envelope[]): Promise<void>;
  stop(): Promise<void>;
  health(): SinkHealth;
}

/** The delivery settings every sink has, next to its own ones. */
export interface DeliveryConfig {
  topics: string[];
  batch: BatchConfig;
  retry: RetryConfig;
}
