// One event of the application, from send() to its settlement: the two ends of its promise and what
// the client counts of it. One object per event (the hot path: a closure per callback cost more).
import type { PendingEvent } from './batch';
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

/** An event of the application from send() to its settlement: the promise's two ends and what the client counts of it. */
export class AppEvent implements PendingEvent {
  /** In the buffer (counted in bufferedBytes), as opposed to waiting for room. */
  admitted = false;
  private done = false;
  /** The wait for room under `block` (maxBlockMs). */
  timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: { settled(event: AppEvent, outcome: Settlement): void },
    readonly id: string,
    readonly topic: string,
    readonly bytes: Buffer,
    readonly ack: AckMode,
    readonly epoch: number,
    public deadline: number,
    private readonly resolve: (delivery: Delivery) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  acked(instance: string, attempts: number): void {
    if (this.finish('acked')) this.resolve({ id: this.id, status: 'acked', instance, attempts });
  }

  spilled(): void {
    if (this.finish('spilled')) this.resolve({ id: this.id, status: 'spilled' });
  }

  failed(error: Error): void {
    if (this.finish('failed')) this.reject(error);
  }

  private finish(outcome: Settlement): boolean {
    if (this.done) return false;
    this.done = true;
    this.client.settled(this, outcome);
    return true;
  }
}

