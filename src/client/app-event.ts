// The application's events at their two ends: what a send() promise resolves with (Delivery), made
// when its batch settles, from the id bytes in the batch's body; and an event waiting for room in
// a full buffer (buffer.whenFull: block), the one case where an event is held on its own.
import { ID_AT } from '../envelope/codec-binary';
import { eventIdText } from '../envelope/id';
import { FRAME_HEADER, NW1_OVERHEAD } from '../envelope/nw1';
import type { Batch } from './batch';
import type { AckMode } from './options';

export interface Delivery {
  id: string;
  /** `acked`: an instance acknowledged it per its ack mode; `spilled`: it is on the local spill, to be delivered later. */
  status: 'acked' | 'spilled';
  /** The instance that acknowledged it. */
  instance?: string;
  /** Requests it took to be acknowledged (1: the first one; more after failures and failovers). */
  attempts?: number;
}

export type Settlement = 'acked' | 'spilled' | 'failed';

/** Resolves the promise of every event of `batch`, in order, each with its own id. */
export function resolveAll(batch: Batch, status: Delivery['status'], instance?: string, attempts?: number): void {
  const { body, resolves, count } = batch;
  let at = NW1_OVERHEAD;
  for (let i = 0; i < count; i++) {
    const id = eventIdText(body, at + FRAME_HEADER + ID_AT);
    resolves[i]!(status === 'acked' ? { id, status, instance, attempts } : { id, status });
    at += FRAME_HEADER + body.readUInt32LE(at);
  }
}

export function rejectAll(batch: Batch, error: Error): void {
  for (const reject of batch.rejects) reject(error);
}

/** An event sent while the buffer was full, waiting for room (maxBlockMs at most), its envelope encoded. */
export class WaitingEvent {
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly topic: string,
    readonly ack: AckMode,
    readonly epoch: number,
    readonly envelope: Buffer,
    readonly resolve: (delivery: Delivery) => void,
    readonly reject: (error: Error) => void,
  ) {}
}
