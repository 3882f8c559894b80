// Events → batches: one open batch per (ack mode, topic), sealed when it holds batch.maxEvents events
// or batch.maxBytes bytes, or lingerMs after its first event. One topic per batch because a request
// goes to `/v1/topics/{topic}`, where the instance checks the topic's access once for the request.
import { framedEnvelopeBytes, NW1_OVERHEAD } from '../envelope/nw1';
import type { Instance } from './instances';
import type { AckMode } from './options';

/** One event on its way: settled exactly once. */
export interface PendingEvent {
  id: string;
  /** The binary envelope. */
  bytes: Buffer;
  /** When it must be acknowledged or spilled by (ms since the epoch; Infinity: never). */
  deadline: number;
  /** `attempts`: the requests its batch took, this one included. */
  acked(instance: string, attempts: number): void;
  spilled(): void;
  failed(error: Error): void;
}

export interface Batch {
  topic: string;
  ack: AckMode;
  events: PendingEvent[];
  /** Bytes of its NW1 body. */
  bytes: number;
  /** Read back from the spill: never spilled again, only delivered. */
  fromSpill: boolean;
  /** Failed tries so far (paces the backoff). */
  failures: number;
  /** Instances it failed on since it last waited: failover picks another. */
  failedOn: Set<Instance>;
  lastError: string | undefined;
}

export function newBatch(topic: string, ack: AckMode, fromSpill: boolean): Batch {
  return { topic, ack, events: [], bytes: NW1_OVERHEAD, fromSpill, failures: 0, failedOn: new Set(), lastError: undefined };
}

export function addEvent(batch: Batch, event: PendingEvent): void {
  batch.events.push(event);
  batch.bytes += framedEnvelopeBytes(event.bytes.length);
}

/** The earliest deadline of its events. */
export function deadlineOf(batch: Batch): number {
  let deadline = Infinity;
  for (const event of batch.events) if (event.deadline < deadline) deadline = event.deadline;
  return deadline;
}

/** Two halves of a batch an instance refused whole (400, 413), to find the event it refuses or fit its size limit. */
export function splitBatch(batch: Batch): [Batch, Batch] {
  const half = Math.ceil(batch.events.length / 2);
  const parts = [batch.events.slice(0, half), batch.events.slice(half)].map((events) => {
    const part = newBatch(batch.topic, batch.ack, batch.fromSpill);
    for (const event of events) addEvent(part, event);
    return part;
  });
  return parts as [Batch, Batch];
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  lingerMs: number;
}

/** The open batches; `seal` gets each one as it closes. */
export class Batcher {
  /** Open batches by ack mode, then topic (two lookups rather than a string made per event). */
  private readonly open: Record<AckMode, Map<string, OpenBatch>> = { spool: new Map(), sink: new Map() };

  constructor(
    private readonly limits: BatchLimits,
    private readonly seal: (batch: Batch) => void,
  ) {}

  add(topic: string, ack: AckMode, event: PendingEvent): void {
    const open = this.open[ack];
    let entry = open.get(topic);
    if (entry !== undefined && entry.batch.bytes + framedEnvelopeBytes(event.bytes.length) > this.limits.maxBytes) {
      this.close(ack, topic);
      entry = undefined;
    }
    if (entry === undefined) {
      const made: OpenBatch = { batch: newBatch(topic, ack, false), timer: undefined };
      open.set(topic, made);
      // lingerMs 0: what is sent in this tick goes together.
      if (this.limits.lingerMs > 0) made.timer = setTimeout(() => this.closeIf(made), this.limits.lingerMs);
      else setImmediate(() => this.closeIf(made));
      entry = made;
    }
    addEvent(entry.batch, event);
    if (entry.batch.events.length >= this.limits.maxEvents || entry.batch.bytes >= this.limits.maxBytes) this.close(ack, topic);
  }

  /** Seals every open batch now (flush, close). */
  sealAll(): void {
    for (const ack of ['spool', 'sink'] as const) for (const topic of [...this.open[ack].keys()]) this.close(ack, topic);
  }

  private closeIf(entry: OpenBatch): void {
    const { topic, ack } = entry.batch;
    if (this.open[ack].get(topic) === entry) this.close(ack, topic);
  }

  private close(ack: AckMode, topic: string): void {
    const entry = this.open[ack].get(topic);
    if (entry === undefined) return;
    this.open[ack].delete(topic);
    clearTimeout(entry.timer);
    this.seal(entry.batch);
  }
}

interface OpenBatch {
  batch: Batch;
  timer: NodeJS.Timeout | undefined;
}
