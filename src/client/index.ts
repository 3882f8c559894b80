// `sparkngin/client`: the public face of the client library (docs/client.md). Everything exported
// here is the API; the rest of src/client is not.
import { SparknginClient } from './client';
import type { ClientOptions } from './options';

export { SparknginClient };
export type { Delivery } from './app-event';
export type { ClientStats } from './client';
export type { RawSendOptions, SendOptions } from './event';
export type { InstanceStats } from './instances';
export type { AckMode, Balance, ClientLogger, ClientOptions, WhenFull } from './options';
export type { Envelope, EventType } from '../envelope/envelope';
export { BufferFullError, ClientClosedError, ClientOptionError, DeliveryTimeoutError, EventRefusedError, InvalidEventError, NoInstanceError } from './errors';
export { SparknginError } from '../errors';

/** A client; see ClientOptions. Options are checked at once (ClientOptionError); `ready()` tells when it found its instances. */
export function createClient(options: ClientOptions = {}): SparknginClient {
  return new SparknginClient(options);
}
