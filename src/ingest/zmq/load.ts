// The zeromq package, loaded when ZeroMQ ingest is configured and not before: its native addon is
// then the only thing a daemon without ZeroMQ never touches. The bundle leaves `zeromq` to Node's
// module resolution (scripts/build.mjs marks it external: the package finds its prebuilt addon
// relative to its own files); the single executable cannot resolve packages, so there the load fails
// with ZmqUnavailableError until the executables carry the addon (packaging/steps/addons.ts).
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
