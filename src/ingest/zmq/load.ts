// The zeromq package, loaded when ZeroMQ ingest is configured and not before, so that a daemon
// without ZeroMQ never touches its native addon. Where the addon comes from (beside the single
// executable, or the package's own prebuilt one) is src/zeromq/load-addon.ts's business; a load that
// fails here (no addon for this machine) stops the start with ZmqUnavailableError naming the keys.
import { SparknginError } from '../../errors';

export type Zeromq = typeof import('zeromq');

export class ZmqUnavailableError extends SparknginError {
  constructor(cause: unknown) {
    super('ZMQ_UNAVAILABLE', `ZeroMQ ingest is configured (zmq.pull or zmq.router) but the zeromq library cannot be loaded here: ${(cause as Error).message}`, { cause });
  }
}

let loading: Promise<Zeromq> | undefined;

export function loadZeromq(): Promise<Zeromq> {
  loading ??= import('zeromq').catch((error: unknown) => {
    loading = undefined;
    throw new ZmqUnavailableError(error);
  });
  return loading;
}
