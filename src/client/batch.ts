// Events → batches: one open batch per (ack mode, topic), sealed when it holds batch.maxEvents events
// or batch.maxBytes bytes, or lingerMs after its first event. One topic per batch because a request
// goes to `/v1/topics/{topic}`, where the instance checks the topic's access once for the request.
//
// A batch is its request body: each event is encoded straight into the NW1 body (magic, then
// length-framed envelopes, src/envelope/nw1.ts) as it is sent, so that an event is no object and no
// buffer of its own, and the body is sent as it is, and again on a retry (same bytes, same ids). What
// is per event is how its promise is settled, kept beside the body in frame order. A batch settles
// whole (acknowledged, spilled or failed) to its owner: the client, which settles the application's
// promises, or the delivery of the disk spill (spill-delivery.ts).
import { FRAME_HEADER, NW1_MAGIC, NW1_OVERHEAD } from '../envelope/nw1';
import type { Settle } from './app-event';
import type { Instance } from './instances';
import type { AckMode } from './options';

/** Who is told how a batch ended (once). */
export interface BatchOwner {
  /** `attempts`: the requests the batch took, this one included. */
  acked(batch: Batch, instance: string, attempts: number): void;
  spilled(batch: Batch): void;
  failed(batch: Batch, error: Error): void;
}

/** Bodies kept for reuse at most (Batcher.recycle): enough for the requests in flight of a steady stream. */
const SPARE_BODIES = 16;
const EMPTY = Buffer.alloc(0);

/** A body's first size; it grows by doubling (at most one extra copy of each byte, and never more than twice the bytes it holds). */
const MIN_CAPACITY = 4 * 1024;

export class Batch {
  /** The NW1 body: magic, then framed envelopes; the first `size` bytes are the request. */
  body: Buffer;
  size = NW1_OVERHEAD;
  count = 0;
  /** When its oldest event must be acknowledged or spilled by (ms since the epoch; Infinity: never). */
  deadline = Infinity;
  /** How each event's promise is settled, in frame order (events of the application only). */
  readonly resolves: Settle[] = [];
  /** Failed tries so far (paces the backoff). */
  failures = 0;
  /** Instances it failed on since it last waited: failover picks another. */
  readonly failedOn = new Set<Instance>();
  lastError: string | undefined;
  /** Open in the Batcher (taking events), with its linger timer. */
  open = false;
  linger: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private settled = false;

  constructor(
    readonly topic: string,
    readonly ack: AckMode,
    readonly owner: BatchOwner,
    /** Read back from the spill: never spilled again, only delivered. */
    readonly fromSpill: boolean,
    /** The client's flush epoch of every event in it (flush() waits per epoch). */
    readonly epoch: number,
    capacity = MIN_CAPACITY,
    /** A body to write into (a recycled one, at least `capacity` long). */
    body?: Buffer,
  ) {
    this.body = body ?? Buffer.allocUnsafe(Math.max(capacity, MIN_CAPACITY));
    NW1_MAGIC.copy(this.body, 0);
  }

  /** Makes room for `bytes` more past `size`. */
  reserve(bytes: number): void {
    const needed = this.size + bytes;
    if (needed <= this.body.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.body.length));
    this.body.copy(grown, 0, 0, this.size);
    this.body = grown;
  }

  /** The frame written at `size` (by EventWriter, or `append`) is now part of the batch. */
  commit(frameLength: number, settle?: Settle): void {
    this.size += frameLength;
    this.count++;
    if (settle !== undefined) this.resolves.push(settle);
  }

  /** Writes a frame holding `envelope` (encoded elsewhere: a spill record, an event that waited for room) at `size`. */
  writeFrame(envelope: Uint8Array): number {
    this.reserve(FRAME_HEADER + envelope.length);
    this.body.writeUInt32LE(envelope.length, this.size);
    this.body.set(envelope, this.size + FRAME_HEADER);
    return FRAME_HEADER + envelope.length;
  }

  /** The request body. */
  request(): Buffer {
    return this.body.subarray(0, this.size);
  }

  /** Offset of each frame (its length prefix) in the body. */
  frames(): number[] {
    const at: number[] = new Array(this.count);
    let offset = NW1_OVERHEAD;
    for (let i = 0; i < this.count; i++) {
      at[i] = offset;
      offset += FRAME_HEADER + this.body.readUInt32LE(offset);
    }
    return at;
  }

  /** The envelopes, as views of the body (for the spill, which writes them as records). */
  envelopes(): Buffer[] {
    return this.frames().map((at) => this.body.subarray(at + FRAME_HEADER, at + FRAME_HEADER + this.body.readUInt32LE(at)));
  }

  /** Events `from` to `to` (exclusive) as a batch of their own (splitBatch). */
  part(from: number, to: number, frames: number[]): Batch {
    const start = frames[from]!;
    const end = to < this.count ? frames[to]! : this.size;
    const part = new Batch(this.topic, this.ack, this.owner, this.fromSpill, this.epoch, NW1_OVERHEAD + end - start);
    this.body.copy(part.body, NW1_OVERHEAD, start, end);
    part.size = NW1_OVERHEAD + end - start;
    part.count = to - from;
    part.deadline = this.deadline;
    part.resolves.push(...this.resolves.slice(from, to));
    return part;
  }

  acked(instance: string, attempts: number): void {
    if (this.settle()) this.owner.acked(this, instance, attempts);
  }

  spilled(): void {
    if (this.settle()) this.owner.spilled(this);
  }

  failed(error: Error): void {
    if (this.settle()) this.owner.failed(this, error);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

/** Two halves of a batch an instance refused whole (400, 413), to find the event it refuses or fit its size limit. */
export function splitBatch(batch: Batch): [Batch, Batch] {
  const half = Math.ceil(batch.count / 2);
  const frames = batch.frames();
  return [batch.part(0, half, frames), batch.part(half, batch.count, frames)];
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  lingerMs: number;
}

/** The open batches of the application's events; `seal` gets each one as it closes. */
export class Batcher {
  /** Open batches by ack mode, then topic (two lookups rather than a string made per event). */
  private readonly open: Record<AckMode, Map<string, Batch>> = { spool: new Map(), sink: new Map() };
  /** The batch the last event went into: the next one usually goes there too. */
  private last: Batch | undefined;
  /**
   * Bodies of acknowledged batches, written into again by the next ones (recycle): a body of 10 KiB
   * to 1 MiB is an ArrayBuffer of its own, and making one per batch kept the garbage collector
   * busy. At most SPARE_BODIES; one smaller than the next batch starts at is dropped.
   */
  private readonly spare: Buffer[] = [];
  /**
   * The size the last batch sealed reached: a new body starts a quarter larger than that (batches
   * under steady load are alike; the room an event's text may take in UTF-8, checked before it is
   * written, is up to 3 bytes per character), so that it is allocated once rather than grown by
   * doubling, each step a new ArrayBuffer and a copy (measured: 6 % of the client's CPU at batches
   * of 100). After a burst, one batch starts larger than it needs; its own size sets the next.
   */
  private lastSize = 0;

  constructor(
    private readonly limits: BatchLimits,
    /** An event not acknowledged this long after it was taken is spilled or failed (0: never). */
    private readonly timeoutMs: number,
    private readonly owner: BatchOwner,
    private readonly seal: (batch: Batch) => void,
  ) {}

  /** The open batch an event of (ack, topic, epoch) is written into. */
  batchFor(ack: AckMode, topic: string, epoch: number): Batch {
    const last = this.last;
    if (last !== undefined && last.open && last.topic === topic && last.ack === ack && last.epoch === epoch) return last;
    let batch = this.open[ack].get(topic);
    // An event that waited for room across a flush() belongs to the epoch it was sent in.
    if (batch !== undefined && batch.epoch !== epoch) {
      this.close(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      const capacity = this.lastSize + (this.lastSize >> 2);
      let body = this.spare.pop();
      if (body !== undefined && body.length < capacity) body = undefined;
      batch = new Batch(topic, ack, this.owner, false, epoch, capacity, body);
      batch.open = true;
      this.open[ack].set(topic, batch);
    }
    this.last = batch;
    return batch;
  }

  /**
   * Takes the frame of `frameLength` bytes written at the end of `batch` (from batchFor), with its
   * promise's ends. A frame that would take the batch past maxBytes goes into a new batch instead.
   */
  commit(batch: Batch, frameLength: number, settle: Settle): void {
    if (batch.count > 0 && batch.size + frameLength > this.limits.maxBytes) {
      const frame = batch.body.subarray(batch.size, batch.size + frameLength);
      this.close(batch);
      const next = this.batchFor(batch.ack, batch.topic, batch.epoch);
      next.reserve(frameLength);
      next.body.set(frame, next.size);
      batch = next;
    }
    batch.commit(frameLength, settle);
    if (batch.count === 1) {
      if (this.timeoutMs > 0) batch.deadline = Date.now() + this.timeoutMs;
      // lingerMs 0: what is sent in this tick goes together.
      if (this.limits.lingerMs > 0) batch.linger = setTimeout(() => this.close(batch), this.limits.lingerMs);
      else batch.linger = setImmediate(() => this.close(batch));
    }
    if (batch.count >= this.limits.maxEvents || batch.size >= this.limits.maxBytes) this.close(batch);
  }

  /**
   * Takes back the body of a batch an instance acknowledged, for a later batch. Only then: a 202
   * for every event of the body means the instance read all of it, so no write of it is still
   * pending; and nothing else holds it (the Deliveries copied their ids out).
   */
  recycle(batch: Batch): void {
    const body = batch.body;
    batch.body = EMPTY;
    if (this.spare.length < SPARE_BODIES && body.length >= MIN_CAPACITY) this.spare.push(body);
  }

  /** Seals every open batch now (flush, close). */
  sealAll(): void {
    for (const ack of ['spool', 'sink'] as const) for (const batch of [...this.open[ack].values()]) this.close(batch);
  }

  private close(batch: Batch): void {
    if (!batch.open) return;
    batch.open = false;
    if (this.open[batch.ack].get(batch.topic) === batch) this.open[batch.ack].delete(batch.topic);
    if (this.limits.lingerMs > 0) clearTimeout(batch.linger as NodeJS.Timeout | undefined);
    else clearImmediate(batch.linger as NodeJS.Immediate | undefined);
    // A batch opened for an event that was then refused or left waiting for room has nothing to send.
    if (batch.count > 0) {
      this.lastSize = batch.size;
      this.seal(batch);
    }
  }
}
