// What crosses between the main thread and an ingest thread (README.md beside this file says why
// these and nothing else). One MessagePort per thread (the Worker's own) carries both directions.
import type { Config } from '../../config/defaults';
import { RequestError, SinkError, SpoolClosedError, SpoolFullError } from '../../errors';
import type { RecordPosition } from '../../sinks/sink';
import type { RangePositions } from '../../sinks/waiters';
import type { AcceptedStats } from '../accepted';
import type { RefusalCount } from '../refusals';
import type { IngestLoad } from '../server';
import type { AckMode } from '../target';

export const INGEST_ROLE = 'sparkngin.ingest';

/** The ingest thread's `workerData`. */
export interface IngestThreadInit {
  role: typeof INGEST_ROLE;
  /** The thread's config: the daemon's, with its share of the bounds (config.ts threadConfig). */
  config: Config;
  /** Where to listen: the main thread's port (an ephemeral one already chosen). */
  listen: { host: string; port: number };
  /** The operations endpoints have a listener of their own (ops.listen): this thread serves events only. */
  eventsOnly: boolean;
  /** Why the daemon is not ready as the thread starts (later ones come as `notReady`): /ready is right from the first request. */
  notReady: string[];
}

/** What a thread counts, sent when asked and every REPORT_MS: the main thread sums them into /stats. */
export interface ThreadReport {
  accepted: AcceptedStats;
  refused: RefusalCount[];
  load: IngestLoad;
}

export const REPORT_MS = 1_000;

export type OpsQuestion = 'stats' | 'metrics' | 'problems';

/** An error of the target as it crosses: the kinds the ingest answers distinctly (respond.ts), anything else a 500. */
export type WireError =
  | { kind: 'request'; status: number; code: string; message: string; headers: Record<string, string | string[]> }
  | { kind: 'spoolFull'; retryAfterSeconds: number }
  | { kind: 'spoolClosed' }
  | { kind: 'sink'; sink: string; message: string; retriable: boolean; causeCode?: string }
  | { kind: 'other'; message: string; stack?: string };

export type WirePositions = Array<RecordPosition | { refused: Extract<WireError, { kind: 'sink' }> } | null>;

/** Ingest thread → main thread. */
export type FromThread =
  | { type: 'listening' }
  | { type: 'failed'; error: WireError }
  /** A request's records (their bytes one after the other), to store per `ack`. `topics`: for routing ack=sink. */
  | { type: 'accept'; id: number; bytes: Uint8Array; lengths: number[]; ack: AckMode; topics: string[]; positions: boolean; stored: boolean }
  /** The client of request `id` left: stop waiting for its sinks. */
  | { type: 'abort'; id: number }
  | { type: 'ops'; id: number; question: OpsQuestion }
  | { type: 'report'; report: ThreadReport }
  | { type: 'log'; line: string }
  | { type: 'stopped'; report: ThreadReport }
  | { type: 'batch'; messages: FromThread[] };

/** Main thread → ingest thread. */
export type ToThread =
  | { type: 'stored'; id: number }
  | { type: 'accepted'; id: number; positions?: WirePositions }
  | { type: 'refused'; id: number; error: WireError }
  | { type: 'answer'; id: number; value: unknown }
  | { type: 'notReady'; reasons: string[] }
  | { type: 'report' }
  | { type: 'reload' }
  /** Stop taking connections, finish requests in flight; cut the rest off after `cutOffMs`. */
  | { type: 'stop'; cutOffMs: number }
  | { type: 'batch'; messages: ToThread[] };

/**
 * One side's messages to the other. The per-request ones (`queue`) go together, one message per
 * turn of the event loop (flushed by setImmediate, after the turn's I/O): a message costs its
 * serialisation, a dispatch and often a wake-up of the other thread, per request otherwise (bench/
 * RESULTS.md, "Across cores"). The rest (`send`) go at once, after what is queued, in order.
 */
export class Outbox<M extends { type: string }> {
  private queued: M[] = [];
  private flushing = false;

  constructor(private readonly port: { postMessage(message: unknown, transfer?: ArrayBuffer[]): void }) {}

  queue(message: M): void {
    this.queued.push(message);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  send(message: M, transfer?: ArrayBuffer[]): void {
    this.flush();
    this.port.postMessage(message, transfer);
  }

  private flush(): void {
    this.flushing = false;
    const messages = this.queued;
    if (messages.length === 0) return;
    this.queued = [];
    this.port.postMessage(messages.length === 1 ? messages[0] : { type: 'batch', messages });
  }
}

export function toWire(error: unknown): WireError {
  if (error instanceof RequestError) return { kind: 'request', status: error.status, code: error.code, message: error.message, headers: error.headers };
  if (error instanceof SpoolFullError) return { kind: 'spoolFull', retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof SpoolClosedError) return { kind: 'spoolClosed' };
  if (error instanceof SinkError) {
    const causeCode = (error.cause as { code?: unknown } | undefined)?.code;
    return { kind: 'sink', sink: error.sink, message: error.message.slice(error.sink.length + 2), retriable: error.retriable, ...(typeof causeCode === 'string' ? { causeCode } : {}) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'other', message, ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}) };
}

/** The error as the ingest's answers tell it apart (respond.ts toRequestError, rest-proxy/errors.ts): same class, code, status, headers and cause code. */
export function fromWire(wire: WireError): Error {
  switch (wire.kind) {
    case 'request':
      return new RequestError(wire.status, wire.code, wire.message, wire.headers);
    case 'spoolFull':
      return new SpoolFullError(wire.retryAfterSeconds);
    case 'spoolClosed':
      return new SpoolClosedError();
    case 'sink':
      return new SinkError(wire.sink, wire.message, { retriable: wire.retriable, ...(wire.causeCode === undefined ? {} : { cause: { code: wire.causeCode } }) });
    case 'other':
      return Object.assign(new Error(wire.message), wire.stack === undefined ? {} : { stack: wire.stack });
  }
}

export function positionsToWire(positions: RangePositions): WirePositions {
  return positions.map((position) => (position instanceof SinkError ? { refused: toWire(position) as Extract<WireError, { kind: 'sink' }> } : position));
}

export function positionsFromWire(positions: WirePositions): RangePositions {
  return positions.map((position) => (position !== null && 'refused' in position ? (fromWire(position.refused) as SinkError) : position));
}
