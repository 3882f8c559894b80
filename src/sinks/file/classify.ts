// What a failed write of the file sink means. An error on one topic's file that no retry can heal
// (the name is too long or invalid for this file system, a directory sits where the file should be)
// is permanent for the records of that topic: they go to the dead-letter file and the other topics
// go on. Everything else (a full disk, an I/O error, permissions, too many open files, a missing or
// read-only output directory) is fixed outside the daemon, so the records wait and are retried.
import { SparknginError } from '../../errors';
import type { FailureClass } from '../sink';

/** Errors on a topic's own file that will be the same on every try. */
const PERMANENT_ON_TOPIC_FILE = new Set(['ENAMETOOLONG', 'EINVAL', 'EISDIR']);

/** An operation on one topic's file failed; `code` is the system error code (ENOSPC, EISDIR, …). */
export class TopicFileError extends SparknginError {
  constructor(
    readonly topic: string,
    readonly path: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(cause.code ?? 'EIO', `cannot write ${path}: ${cause.message}`, { cause });
  }
}

export function classifyFileError(error: unknown): FailureClass {
  if (error instanceof TopicFileError && PERMANENT_ON_TOPIC_FILE.has(error.code)) return 'permanent';
  return 'retriable';
}
