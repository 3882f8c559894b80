// The line files sinks append to (the file sink's topic files, the dead-letter files) hold whole
// lines only: each write carries whole lines, and the records in it count as delivered (or parked)
// only once the write and its sync have returned. A crash can still leave the start of a line at the
// end of a file: SIGKILL ends a long write() between pages, and power loss keeps what reached the
// disk. Those records were never counted, so they are written again; appended after the fragment,
// the first of them would be glued to it, one line no reader can parse. So a file is cut back to its
// last newline before anything is appended to it.
//
// Alternatives: checking every line's JSON on open costs a read of the whole file for what only the
// last line can suffer; writing a separator first on every open would leave the fragment as a line of
// its own, still garbage to a reader. The spool cuts its own torn tail the same way
// (`spool.torn_tail_truncated`, src/spool/recovery.ts), by its record framing rather than newlines.
import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;
/** Read backwards in steps of this many bytes while looking for the last newline. */
const STEP = 64 * 1024;

/**
 * Cuts `handle`'s file (opened for reading and writing, `size` bytes long) back to just after its
 * last newline, syncing the cut; returns the bytes cut (0, with one 1-byte read, when it ends whole).
 */
export async function cutTornTail(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === NEWLINE) return 0;
  let keep = 0;
  const chunk = Buffer.allocUnsafe(Math.min(STEP, size));
  for (let end = size; end > 0; end -= chunk.length) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at >= 0) {
      keep = start + at + 1;
      break;
    }
  }
  await handle.truncate(keep);
  await handle.datasync();
  return size - keep;
}
