// The memory all requests in flight hold together, against one limit (http.maxBufferedBytes): their
// bodies as they arrive, then a cost per event and per request for what the events become (payload
// views, envelopes, ids, encoded records, the answer). Past the limit a request is answered 503
// INGEST_BUSY, so that many clients at once, or many events per request, cannot take the daemon's
// memory. Each request's share is given back when its response closes, or earlier, down to what it
// still holds, once its events are stored and it only waits for sinks (ack=sink).
import type { ServerResponse } from 'node:http';
import { RequestError } from '../errors';

/**
 * Memory one event holds from parse to answer: measured 570 bytes of heap on Node 20 for tiny NDJSON
 * events (payload view, envelope, id, encoded record, its id in the answer), 850 bytes of RSS; charged
 * at 1 KiB so that the limit errs on the safe side.
 */
export const EVENT_BYTES = 1024;
/** Memory one request holds besides its body and events (request and response objects, handlers' state). */
export const REQUEST_BYTES = 4096;
/** Memory one event's id holds while its request waits for sinks (ack=sink) after the rest was given back. */
export const ID_BYTES = 64;

export interface Share {
  /** Grows the share by `bytes`, or answers false if that would pass the limit (nothing taken then). */
  take(bytes: number): boolean;
  /** Gives back all of the share above `bytes`. */
  keepOnly(bytes: number): void;
}

export class MemoryBudget {
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  heldBytes(): number {
    return this.held;
  }

  /**
   * One request's share, given back whole when its response closes. A request alone is always let
   * in (up to its own limits), so that a limit below one request's needs never refuses everything.
   */
  share(response: ServerResponse): Share {
    let taken = 0;
    let closed = false;
    response.once('close', () => {
      this.held -= taken;
      taken = 0;
      closed = true;
    });
    return {
      // After the close nobody is left to answer; taking then would never be given back.
      take: (bytes) => {
        if (closed || (this.held > taken && this.held + bytes > this.maxBytes)) return false;
        this.held += bytes;
        taken += bytes;
        return true;
      },
      keepOnly: (bytes) => {
        if (taken <= bytes) return;
        this.held -= taken - bytes;
        taken = bytes;
      },
    };
  }
}

export const busy = (): RequestError =>
  new RequestError(503, 'INGEST_BUSY', 'the requests in flight hold as much memory as allowed (http.maxBufferedBytes); retry later', { 'retry-after': '1' });

/** The request's share, made on first use (requests that hold nothing, /health, never make one). */
export function shareOf(exchange: { response: ServerResponse; memory: Share | undefined }, budget: MemoryBudget): Share {
  return (exchange.memory ??= budget.share(exchange.response));
}
