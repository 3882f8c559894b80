// The zeromq package, loaded when something first needs it (ZeroMQ ingest when configured, the client
// library when given a tcp:// instance) and not before, so that a daemon or a client without ZeroMQ
// never touches its native addon. Where the addon comes from (beside the single executable, or the
// package's own prebuilt one) is load-addon.ts's business; a load that fails here (no addon for this
// machine, the package not installed) is ZmqUnavailableError naming what needed it.
import { SparknginError } from '../errors';

export type Zeromq = typeof import('zeromq');

export class ZmqUnavailableError extends SparknginError {
  constructor(user: string, cause: unknown) {
    super('ZMQ_UNAVAILABLE', `${user} needs the zeromq library, which cannot be loaded here: ${(cause as Error).message}`, { cause });
  }
}

let loading: Promise<Zeromq> | undefined;

/** zeromq, loaded once; `user` says what needs it (in the error when it cannot be loaded). */
export function loadZeromq(user: string): Promise<Zeromq> {
  loading ??= import('zeromq');
  return loading.catch((error: unknown) => {
    loading = undefined;
    throw new ZmqUnavailableError(user, error);
  });
}
