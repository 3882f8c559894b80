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
  acked(instance: string): void;
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
  private readonly open = new Map<string, { batch: Batch; timer: NodeJS.Timeout | undefined }>();

  constructor(
    private readonly limits: BatchLimits,
    private readonly seal: (batch: Batch) => void,
  ) {}

  add(topic: string, ack: AckMode, event: PendingEvent): void {
    const name = `${ack}/${topic}`;
    let entry = this.open.get(name);
    if (entry !== undefined && entry.batch.bytes + framedEnvelopeBytes(event.bytes.length) > this.limits.maxBytes) {
      this.close(name);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = { batch: newBatch(topic, ack, false), timer: undefined };
      this.open.set(name, entry);
      entry.timer = this.limits.lingerMs > 0 ? setTimeout(() => this.close(name), this.limits.lingerMs) : undefined;
      // lingerMs 0: what is sent in this tick goes together.
      if (entry.timer === undefined) setImmediate(() => this.closeIf(name, entry!.batch));
    }
    addEvent(entry.batch, event);
    if (entry.batch.events.length >= this.limits.maxEvents || entry.batch.bytes >= this.limits.maxBytes) this.close(name);
  }

  /** Seals every open batch now (flush, close). */
  sealAll(): void {
    for (const name of [...this.open.keys()]) this.close(name);
  }

  private closeIf(name: string, batch: Batch): void {
    if (this.open.get(name)?.batch === batch) this.close(name);
  }

  private close(name: string): void {
    const entry = this.open.get(name);
    if (entry === undefined) return;
    this.open.delete(name);
    clearTimeout(entry.timer);
    this.seal(entry.batch);
  }
}
