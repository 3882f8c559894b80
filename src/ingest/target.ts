// What the HTTP ingest hands accepted events to. The daemon wires this to the spool (and, for
// `ack=sink`, to the sink dispatchers), so that the ingest knows nothing of files or sinks.
import type { Envelope } from '../envelope/envelope';

/** `spool`: answer once the events are in the spool (synced per spool.fsync); `sink`: once every routed sink accepted them. */
export type AckMode = 'spool' | 'sink';

export interface IngestTarget {
  /**
   * Resolves when the events are acknowledged per `ack`. Rejects with SpoolFullError (answer 503 with
   * Retry-After), SpoolClosedError (503, shutting down) or, for `ack=sink`, SinkError when a routed sink
   * parked an event in its dead-letter file (502) — anything else is a 500.
   */
  accept(envelopes: Envelope[], ack: AckMode): Promise<void>;
  /** Why the daemon is not ready to take events, or an empty list when it is. */
  notReadyReasons(): string[];
}
