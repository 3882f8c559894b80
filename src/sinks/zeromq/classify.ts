// What a failed ZeroMQ send means. ZeroMQ refuses no message for what it holds, so nothing is
// permanent: a PUSH that found no peer with room in time (EAGAIN), a socket closed under a send, an
// endpoint that cannot be bound yet (EADDRINUSE while the old owner goes) are all waited out. A
// programming error anywhere in the chain is a bug.
import { isProgrammingError } from '../../errors';
import type { FailureClass } from '../sink';

export function classifyZeromqError(error: unknown): FailureClass {
  for (let current = error; current instanceof Error; current = current.cause) if (isProgrammingError(current)) return 'bug';
  return 'retriable';
}
