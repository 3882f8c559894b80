// Connects the HTTP ingest to the spool and, for `ack=sink`, to the dispatchers of the routed sinks.
import { encodeEnvelopes } from '../envelope/codec-binary';
import type { Envelope } from '../envelope/envelope';
import { RequestError } from '../errors';
import type { AckMode, IngestTarget } from '../ingest/target';
import type { Dispatcher } from '../sinks/dispatcher';
import type { Spool } from '../spool/spool';

export class SpoolIngestTarget implements IngestTarget {
  stopping = false;

  constructor(
    private readonly spool: Spool,
    private readonly dispatchers: Dispatcher[],
    private readonly sinkAckTimeoutMs: number,
  ) {}

  async accept(envelopes: Envelope[], ack: AckMode): Promise<void> {
    const { firstSeq, lastSeq } = await this.spool.append(encodeEnvelopes(envelopes));
    if (ack === 'sink') await this.untilDelivered(envelopes, firstSeq, lastSeq);
  }

  private async untilDelivered(envelopes: Envelope[], firstSeq: number, lastSeq: number): Promise<void> {
    const topics = new Set(envelopes.map((envelope) => envelope.topic));
    const routed = this.dispatchers.filter((dispatcher) => [...topics].some((topic) => dispatcher.routes(topic)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RequestError(504, 'SINK_ACK_TIMEOUT', `the events are spooled and will be delivered, but not every sink accepted them within ${this.sinkAckTimeoutMs} ms`),
          ),
        this.sinkAckTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(routed.map((dispatcher) => dispatcher.whenDelivered(firstSeq, lastSeq))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.stopping) reasons.push('shutting down');
    if (this.spool.isFull()) reasons.push('spool full');
    return reasons;
  }
}
