// Records a destination refuses for good (too large, invalid for it) are parked here instead of
// blocking the sink forever: one NDJSON line per record with the reason and the whole envelope, in
// `<dataDir>/dead-letter/<sink>.ndjson`, synced before the cursor moves past the record.
//
// Bounded, and what goes is counted (`droppedRecords`, logged `dead_letter.dropped`): past
// deadLetter.maxBytes the file is renamed `<sink>.1.ndjson` (replacing the one before, whose lines are
// dropped), so a sink keeps at most about twice that; a file whose newest line is older than
// deadLetter.maxAgeSeconds is deleted (`sweep`, run by the delivery thread every minute). Only the
// sink's delivery thread touches its files, and one operation at a time. A line a crash cut short at
// the end of the current file is cut away before the first park (torn-tail.ts).
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/defaults';
import { envelopeToJson } from '../envelope/codec-json';
import type { Envelope } from '../envelope/envelope';
import { type Logger, silentLogger } from '../ops/log';
import { mkdirDurably, syncDir } from '../spool/durable-file';
import { cutTornTail } from './torn-tail';

export type DeadLetterLimits = Config['deadLetter'];

const NO_LIMITS: DeadLetterLimits = { maxBytes: 0, maxAgeSeconds: 0 };

/** Lines in a file (0 when it is gone), read in chunks: a file of any size costs little memory. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  try {
    for await (const chunk of createReadStream(path)) for (const byte of chunk as Buffer) if (byte === 0x0a) lines++;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return lines;
}

const sizeOf = (path: string): Promise<number> => stat(path).then(
  (found) => found.size,
  () => 0,
);

export class DeadLetterFile {
  readonly path: string;
  /** The file the one before goes to at the size cap. */
  readonly rotatedPath: string;
  /** Dead letters dropped by the size cap or the age limit since start. */
  droppedRecords = 0;
  private size: number | undefined;
  private rotatedSize = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    dir: string,
    sink: string,
    private readonly limits: DeadLetterLimits = NO_LIMITS,
    private readonly logger: Logger = silentLogger,
  ) {
    const name = encodeURIComponent(sink);
    this.path = join(dir, `${name}.ndjson`);
    this.rotatedPath = join(dir, `${name}.1.ndjson`);
  }

  /** Bytes of this sink's dead letters on disk (both files), as last seen. */
  get bytes(): number {
    return (this.size ?? 0) + this.rotatedSize;
  }

  park(envelope: Envelope, error: { code?: string; message: string }): Promise<void> {
    return this.serially(async () => {
      await mkdirDurably(join(this.path, '..'));
      const line = `{"time":"${new Date().toISOString()}","code":${JSON.stringify(error.code ?? 'UNKNOWN')},"reason":${JSON.stringify(error.message)},"event":${envelopeToJson(envelope)}}\n`;
      const length = Buffer.byteLength(line);
      await this.measure();
      if (this.limits.maxBytes > 0 && this.size! > 0 && this.size! + length > this.limits.maxBytes) await this.rotate();
      const file = await open(this.path, 'a');
      try {
        await file.writeFile(line);
        await file.datasync();
        // A new file (the first, or the one after a rotation's rename): its entry synced before the
        // record counts as parked and the sink's cursor moves past it.
        if (this.size === 0) await syncDir(join(this.path, '..'));
      } finally {
        await file.close();
      }
      this.size! += length;
    });
  }

  /** Deletes the files whose newest line is older than deadLetter.maxAgeSeconds, counting their lines. */
  sweep(now = Date.now()): Promise<void> {
    return this.serially(async () => {
      if (this.limits.maxAgeSeconds <= 0) return this.measure(true);
      const limit = now - this.limits.maxAgeSeconds * 1000;
      for (const path of [this.rotatedPath, this.path]) {
        const modified = await stat(path).then(
          (found) => found.mtimeMs,
          () => undefined,
        );
        if (modified !== undefined && modified < limit) await this.drop(path, `older than deadLetter.maxAgeSeconds (${this.limits.maxAgeSeconds})`);
      }
      await this.measure(true);
    });
  }

  /** The current file becomes the rotated one; the rotated one before it is dropped. */
  private async rotate(): Promise<void> {
    await this.drop(this.rotatedPath, `deadLetter.maxBytes (${this.limits.maxBytes}) reached`);
    await rename(this.path, this.rotatedPath);
    this.rotatedSize = this.size!;
    this.size = 0;
  }

  private async drop(path: string, reason: string): Promise<void> {
    const records = await countLines(path);
    await rm(path, { force: true });
    if (records === 0) return;
    this.droppedRecords += records;
    this.logger.warn('dead_letter.dropped', { file: path, records, reason });
  }

  /** Reads the sizes of the files (once, or again when `fresh`); the first time, cuts a torn last line. */
  private async measure(fresh = false): Promise<void> {
    if (this.size !== undefined && !fresh) return;
    if (this.size === undefined) await this.repairTail();
    [this.size, this.rotatedSize] = await Promise.all([sizeOf(this.path), sizeOf(this.rotatedPath)]);
  }

  /** A line a crash cut short at the end of the current file (its record is parked again): cut away. */
  private async repairTail(): Promise<void> {
    const file = await open(this.path, 'r+').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (file === undefined) return;
    try {
      const bytes = await cutTornTail(file, (await file.stat()).size);
      if (bytes > 0) this.logger.warn('dead_letter.torn_tail_cut', { file: this.path, bytes });
    } finally {
      await file.close();
    }
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
