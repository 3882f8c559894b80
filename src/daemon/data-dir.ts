// Opening the data dir for the daemon: the lock first (nothing in the dir is touched before it is
// held), then the instance id and the spool at the same time (each its own files and fsyncs, under
// one lock; the spool settles where each sink's reader resumes, a new sink's cursor file included,
// while it makes its segment). `sparkngin start` begins it as soon as the configuration is read and
// only then evaluates the daemon's other modules (the HTTP server, the sinks' threads, metrics, and
// the Node modules they require): that CPU work runs while the flock(1) child and the fsyncs of a
// fresh dir are under way, instead of before them (bench/RESULTS.md, "Start-up, fourth round").
// This module imports only what opening needs, so that beginning it early costs little.
import { join } from 'node:path';
import type { Config } from '../config/defaults';
import { loadInstanceId } from '../discovery/instance-id';
import type { Logger } from '../ops/log';
import { enabledSinks } from '../sinks/registry';
import { Spool } from '../spool/spool';
import { type DataDirLock, lockDataDir } from './data-dir-lock';

export interface OpenDataDir {
  instanceId: string;
  spool: Spool;
}

/** The two steps, each awaitable on its own: the threads of the sinks start once `locked` holds. */
export interface DataDirOpening {
  locked: Promise<DataDirLock>;
  /** The instance id and the open spool; when it rejects, whatever it opened is closed and the lock released. */
  opened: Promise<OpenDataDir>;
}

export function openDataDir(config: Config, logger: Logger): DataDirOpening {
  const locked = lockDataDir(config.dataDir, { logger });
  const readers = enabledSinks(config).map((sink) => sink.name);
  const opened = locked.then(async (lock) => {
    const [instanceId, spool] = await Promise.allSettled([loadInstanceId(config.dataDir), Spool.open({ dir: join(config.dataDir, 'spool'), ...config.spool, logger, readers })]);
    if (instanceId.status === 'fulfilled' && spool.status === 'fulfilled') return { instanceId: instanceId.value, spool: spool.value };
    if (spool.status === 'fulfilled') await spool.value.close();
    await lock.release();
    throw instanceId.status === 'rejected' ? instanceId.reason : (spool as PromiseRejectedResult).reason;
  });
  // Awaited by Daemon.start once the daemon's modules are loaded; not an unhandled rejection before.
  locked.catch(() => undefined);
  opened.catch(() => undefined);
  return { locked, opened };
}
