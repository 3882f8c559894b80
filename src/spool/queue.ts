// A spool used as a plain durable queue by one reader, outside the daemon: the client library's
// disk spill (src/client/spill.ts) and `sparkngin drain` (src/cli/drain.ts). Same files, invariants
// and recovery as the daemon's spool (README.md here), so `sparkngin spool verify|info` read it too.
// Two things differ from the daemon's use and are settled here once:
// - the one reader is opened before the first maintenance pass: a spool with no reader counts
//   every record as delivered and deletes it (Spool.deleteDelivered);
// - nothing is ever dropped by a limit: no age limit, and a full queue refuses appends (`reject`).
import type { Logger } from '../ops/log';
import type { SpoolReader } from './reader';
import { Spool } from './spool';

export interface Queue {
  spool: Spool;
  reader: SpoolReader;
}

export interface QueueOptions {
  /** Size limit: appends past it are refused with SpoolFullError. */
  maxBytes: number;
  logger: Logger;
}

export async function openQueue(dir: string, readerName: string, options: QueueOptions): Promise<Queue> {
  // Segments of a quarter of the limit (at most 16 MiB): delivered ones can be deleted while the rest waits.
  const segmentBytes = Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(options.maxBytes / 4)));
  const spool = await Spool.open({
    dir,
    fsync: 'batch',
    commitIntervalMs: 2,
    segmentBytes,
    maxBytes: options.maxBytes,
    maxAgeSeconds: 0,
    fullPolicy: 'reject',
    logger: options.logger,
  });
  try {
    return { spool, reader: await spool.openReader(readerName) };
  } catch (error) {
    await spool.close();
    throw error;
  }
}

/** Records appended and not yet committed by the queue's reader. */
export function backlog(queue: Queue): number {
  return Math.max(0, queue.spool.committedSeq - queue.reader.nextSeq);
}
