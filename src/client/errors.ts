// What a send() can be rejected with, and why the client cannot start. Every error has a stable
// `code` (the project's error tree, src/errors.ts); `retriable` says whether sending the same event
// again later could succeed.
import { SparknginError } from '../errors';

/** Options that cannot be used; lists every problem. */
export class ClientOptionError extends SparknginError {
  constructor(readonly problems: string[]) {
    super('CLIENT_OPTIONS_INVALID', `invalid client options: ${problems.join('; ')}`);
  }
}

/** The event itself cannot be sent (a bad topic, key, header or payload): nothing was sent. */
export class InvalidEventError extends SparknginError {
  constructor(message: string) {
    super('INVALID_EVENT', message);
  }
}

/** The memory buffer is full (`buffer.whenFull: fail`, or `block` waited `maxBlockMs`). */
export class BufferFullError extends SparknginError {
  constructor(maxBytes: number) {
    super('BUFFER_FULL', `the client's buffer of ${maxBytes} bytes is full (buffer.maxBytes): no instance takes events fast enough`, { retriable: true });
  }
}

/** Not acknowledged within `deliveryTimeoutMs` (no spill configured): the event may or may not have arrived. */
export class DeliveryTimeoutError extends SparknginError {
  constructor(ms: number, lastError: string | undefined) {
    super('DELIVERY_TIMEOUT', `not acknowledged within ${ms} ms (deliveryTimeoutMs)${lastError ? `; last failure: ${lastError}` : ''}`, { retriable: true });
  }
}

/** An instance refused the event for good (4xx, or 502 when a sink parked it in its dead-letter file). */
export class EventRefusedError extends SparknginError {
  constructor(
    readonly status: number,
    readonly serverCode: string,
    message: string,
    readonly instance: string,
  ) {
    super('EVENT_REFUSED', `${instance} answered ${status} ${serverCode}: ${message}`);
  }
}

/** send() after close(), or an event still waiting for room when close() was called. */
export class ClientClosedError extends SparknginError {
  constructor() {
    super('CLIENT_CLOSED', 'the client is closed');
  }
}

/** No URL given, none in SPARKNGIN_URL, and discovery found no instance. */
export class NoInstanceError extends SparknginError {
  constructor(detail: string) {
    super('NO_INSTANCE', `no Sparkngin instance to send to: ${detail}`, { retriable: true });
  }
}
