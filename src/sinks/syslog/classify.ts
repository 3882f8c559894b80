// What a failed syslog send means. A message too large for one UDP datagram can never be sent as it
// is: permanent (dead-lettered). A programming error is a bug. Everything else (a server down or
// refusing, a connection reset, a TLS handshake refused: an operator fixes the last) is retriable.
import { isProgrammingError, SparknginError } from '../../errors';
import type { FailureClass } from '../sink';

/** A message longer than a UDP datagram can carry. */
export class SyslogMessageTooLargeError extends SparknginError {
  constructor(bytes: number) {
    super('SYSLOG_MESSAGE_TOO_LARGE', `a syslog message of ${bytes} bytes does not fit one UDP datagram (65507 bytes at most); use tcp:// or tls://`);
  }
}

export function classifySyslogError(error: unknown): FailureClass {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof SyslogMessageTooLargeError) return 'permanent';
    if (isProgrammingError(current)) return 'bug';
  }
  return 'retriable';
}
