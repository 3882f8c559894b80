// What the HTTP ingest hands accepted events to. The daemon wires this to the spool (and, for
// `ack=sink`, to the sink dispatchers), so that the ingest knows nothing of files or sinks.
import type { Envelope } from '../envelope/envelope';
import type { RangePositions } from '../sinks/waiters';

/** `spool`: answer once the events are in the spool (synced per spool.fsync); `sink`: once every routed sink accepted them. */
export type AckMode = 'spool' | 'sink';

export interface AcceptOptions {
  /** The envelopes' spool records (encodeEnvelopes' bytes, in order), when the route made them already (NW1). */
  records?: Buffer[];
  /** `ack=sink`: aborted when the client went away; the target stops waiting for the sinks at once. */
  signal?: AbortSignal;
  /** `ack=sink`: called once the events are in the spool, before the wait for the sinks. */
  onStored?: () => void;
  /**
   * `ack=sink`: resolve with what became of each event: where it went (Kafka's partition and offset),
   * as the sinks that know say, or the SinkError of a sink that dead-lettered it (then not a rejection).
   */
  positions?: boolean;
}

export interface IngestTarget {
  /**
   * Resolves when the events are acknowledged per `ack`. Rejects with SpoolFullError (answer 503 with
   * Retry-After), SpoolClosedError (503, shutting down), a RequestError (503 when too many `ack=sink`
   * requests wait, 504 when the sinks took too long) or, for `ack=sink`, SinkError when a routed sink
   * parked an event in its dead-letter file (502) — anything else is a 500. The target must not keep
   * `envelopes` once they are stored: a request waiting for sinks should hold no more than its ids.
   * With `options.positions` (and `ack=sink`) it resolves with each event's outcome, in order, and a
   * dead letter is that event's SinkError rather than a rejection.
   */
  accept(envelopes: Envelope[], ack: AckMode, options?: AcceptOptions): Promise<RangePositions | void>;
  /** Why the daemon is not ready to take events, or an empty list when it is. */
  notReadyReasons(): string[];
}
