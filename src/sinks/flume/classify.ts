// What a failed Flume send means. The HTTP source answers 400 when it cannot take what it was given
// (its handler refused the events) and 413 when the body is too large for it: permanent for some
// record of the batch. 503 is a full channel, and any other status or a network error is a Flume
// that is away or busy: retriable. The Avro source answers FAILED for anything its channel refused
// (full, or a transaction over its capacity: it does not say which), so FAILED is retriable; an
// event over `maxEventBytes` is refused by the sink before sending (permanent), since an agent
// holds a whole request in its heap. A programming error is a bug.
import { isProgrammingError, SparknginError } from '../../errors';
import type { FailureClass } from '../sink';

/** The agent answered a batch with a status other than 200. */
export class FlumeHttpError extends SparknginError {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super('FLUME_REFUSED', `the Flume agent answered ${status}${detail === '' ? '' : `: ${detail}`}`);
  }
}

/**
 * The agent could not be reached (refused, reset, timed out). fetch reports that as a TypeError
 * ("fetch failed"), which would read as a programming error: the sink gives this instead, keeping
 * only the network error under it.
 */
export class FlumeUnreachableError extends SparknginError {
  constructor(cause: unknown) {
    const code = (cause as { code?: string }).code;
    super('FLUME_UNREACHABLE', `the Flume agent cannot be reached${code === undefined ? `: ${(cause as Error).message}` : ` (${code})`}`, { cause, retriable: true });
  }
}

/** fetch's own failure (a TypeError "fetch failed" around the network error) as what it is. */
export function fetchFailure(error: unknown): unknown {
  if (error instanceof TypeError && error.message === 'fetch failed') return new FlumeUnreachableError(error.cause ?? new Error('fetch failed'));
  if (error instanceof DOMException && error.name === 'TimeoutError') return new FlumeUnreachableError(error);
  return error;
}

/** The Avro source answered a batch with FAILED or UNKNOWN: its channel did not commit it. */
export class FlumeStatusError extends SparknginError {
  constructor(readonly status: string) {
    super('FLUME_FAILED', `the Flume agent answered ${status}: its channel did not take the batch (full, or a batch over its transactionCapacity)`, { retriable: true });
  }
}

/**
 * An Avro call that failed without the connection failing: the agent's own error answer, or an
 * answer that could not be decoded. Only the message is kept: a RangeError from decoding garbage is
 * no bug of ours.
 */
export class FlumeRpcError extends SparknginError {
  constructor(detail: string) {
    super('FLUME_RPC_ERROR', `the Avro call failed: ${detail}`, { retriable: true });
  }
}

/** An event larger than `maxEventBytes` (Avro protocol): never sent. */
export class FlumeEventTooLargeError extends SparknginError {
  constructor(
    readonly id: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super('FLUME_EVENT_TOO_LARGE', `event ${id} has ${bytes} bytes of body and headers, over maxEventBytes (${maxBytes})`);
  }
}

const REFUSED_FOR_GOOD = new Set([400, 413]);

export function classifyFlumeError(error: unknown): FailureClass {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof FlumeHttpError && REFUSED_FOR_GOOD.has(current.status)) return 'permanent';
    if (current instanceof FlumeEventTooLargeError) return 'permanent';
    if (isProgrammingError(current)) return 'bug';
  }
  return 'retriable';
}
