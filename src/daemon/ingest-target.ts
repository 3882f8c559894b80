// Connects the HTTP ingest to the spool and, for `ack=sink`, to the dispatchers of the routed sinks.
import { encodeEnvelopes } from '../envelope/codec-binary';
import type { Envelope } from '../envelope/envelope';
import { RequestError, SinkError } from '../errors';
import type { AcceptOptions, AckMode, IngestTarget } from '../ingest/target';
import type { SinkDelivery } from '../sinks/dispatcher';
import type { RangePositions } from '../sinks/waiters';
import type { Spool } from '../spool/spool';

export interface SinkAckLimits {
  /** Longest a request waits for its sinks (504 after). */
  timeoutMs: number;
  /** Most requests waiting at once (503 beyond). */
  maxWaiting: number;
}

/** ack=spool routes nothing. */
const NO_TOPICS: ReadonlySet<string> = new Set();

export class SpoolIngestTarget implements IngestTarget {
  stopping = false;
  /** `ack=sink` requests waiting for their sinks now. */
  private waiting = 0;

  constructor(
    private readonly spool: Spool,
    private readonly dispatchers: SinkDelivery[],
    private readonly sinkAck: SinkAckLimits,
  ) {}

  get sinkAckWaiting(): number {
    return this.waiting;
  }

  // Not async: the envelopes are encoded for the spool and let go of; a request waiting for its sinks
  // keeps only the topics and the sequence range (see IngestTarget.accept).
  accept(envelopes: Envelope[], ack: AckMode, options: AcceptOptions = {}): Promise<RangePositions | undefined> {
    const records = options.records ?? encodeEnvelopes(envelopes);
    return this.acceptRecords(records, ack === 'sink' ? new Set(envelopes.map((envelope) => envelope.topic)) : NO_TOPICS, ack, options);
  }

  /** The same for records encoded already, by an ingest thread (src/ingest/threads/): `topics` are theirs, for ack=sink's routing. */
  acceptRecords(records: Buffer[], topics: ReadonlySet<string>, ack: AckMode, options: AcceptOptions): Promise<RangePositions | undefined> {
    if (ack === 'spool') return this.spool.append(records).then(() => undefined);
    // Refused before storing, so that the client's retry stores the events once.
    if (this.waiting >= this.sinkAck.maxWaiting) {
      return Promise.reject(
        new RequestError(503, 'SINK_ACK_BUSY', `${this.sinkAck.maxWaiting} ack=sink requests are waiting for their sinks already (http.maxSinkAckRequests); retry later, or use ack=spool`, {
          'retry-after': '1',
        }),
      );
    }
    this.waiting++;
    const routed = this.dispatchers.filter((dispatcher) => [...topics].some((topic) => dispatcher.routes(topic)));
    // Before the append, so that the sinks report where these records go (SinkDelivery.holdPositions).
    const releases = options.positions ? routed.flatMap((dispatcher) => dispatcher.holdPositions?.() ?? []) : [];
    return this.spool
      .append(records)
      .then(({ firstSeq, lastSeq }) => {
        options.onStored?.();
        return this.untilDelivered(routed, firstSeq, lastSeq, options.signal, options.positions === true);
      })
      .finally(() => {
        this.waiting--;
        for (const release of releases) release();
      });
  }

  /**
   * Waits for every routed sink to accept firstSeq..lastSeq, until the timeout or until `gone` (the
   * client left) aborts: then each dispatcher drops this waiter at once, rather than keeping it until
   * the sink recovers.
   */
  private untilDelivered(routed: SinkDelivery[], firstSeq: number, lastSeq: number, gone: AbortSignal | undefined, positions: boolean): Promise<RangePositions | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new RequestError(504, 'SINK_ACK_TIMEOUT', `the events are spooled and will be delivered, but not every sink accepted them within ${this.sinkAck.timeoutMs} ms`),
        ),
      this.sinkAck.timeoutMs,
    );
    const onGone = () => controller.abort(gone!.reason);
    if (gone?.aborted) onGone();
    else gone?.addEventListener('abort', onGone, { once: true });
    return Promise.all(routed.map((dispatcher) => dispatcher.whenDelivered(firstSeq, lastSeq, controller.signal, positions)))
      .then((reports) => (positions ? firstKnown(reports, lastSeq - firstSeq + 1) : undefined))
      .finally(() => {
        clearTimeout(timer);
        gone?.removeEventListener('abort', onGone);
        // One dispatcher failing (dead letter) leaves the others waiting: release them too.
        controller.abort();
      });
  }

  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.stopping) reasons.push('shutting down');
    if (this.spool.isFull()) reasons.push('spool full');
    return reasons;
  }
}

/**
 * Per record, a routed sink's refusal if any refused it (the record is not where every routed sink
 * has it), else the position the first sink that knows it reported (only Kafka reports any today),
 * else null.
 */
function firstKnown(reports: Array<RangePositions | undefined>, count: number): RangePositions {
  const merged: RangePositions = new Array(count).fill(null);
  for (const report of reports) {
    if (report === undefined) continue;
    for (let i = 0; i < count; i++) {
      const said = report[i] ?? null;
      if (merged[i] instanceof SinkError) continue;
      if (said instanceof SinkError || merged[i] === null) merged[i] = said;
    }
  }
  return merged;
}
