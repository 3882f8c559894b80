// What a failed Flume send means. The HTTP source answers 400 when it cannot take what it was given
// (its handler refused the events) and 413 when the body is too large for it: permanent for some
// record of the batch. 503 is a full channel, and any other status or a network error is a Flume
// that is away or busy: retriable. A programming error is a bug.
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

const REFUSED_FOR_GOOD = new Set([400, 413]);

export function classifyFlumeError(error: unknown): FailureClass {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof FlumeHttpError && REFUSED_FOR_GOOD.has(current.status)) return 'permanent';
    if (isProgrammingError(current)) return 'bug';
  }
  return 'retriable';
}
