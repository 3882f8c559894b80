// The file sink's open files, at most `max` at a time: the least recently written one is closed to
// make room for another. Without a bound, every topic ever written holds a descriptor until the
// process runs out (EMFILE), and then the HTTP listener cannot accept connections either.
// Closing loses nothing: a file is closed only between writes, after its fdatasync.
import type { FileHandle } from 'node:fs/promises';

export interface OpenFile {
  handle: FileHandle;
  /** Bytes in the file, where the next write goes. */
  size: number;
}

export class OpenFiles {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly files = new Map<string, OpenFile>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.files.size;
  }

  /** The open file for `key`, marked as the most recently used; or `open()`'s, once there is room for it. */
  async get(key: string, open: () => Promise<OpenFile>): Promise<OpenFile> {
    const cached = this.files.get(key);
    if (cached !== undefined) {
      this.files.delete(key);
      this.files.set(key, cached);
      return cached;
    }
    while (this.files.size >= this.max) {
      const [oldest, file] = this.files.entries().next().value as [string, OpenFile];
      this.files.delete(oldest);
      await closeQuietly(file);
    }
    const file = await open();
    this.files.set(key, file);
    return file;
  }

  /** Closes `key`'s file if it is open (before it is renamed). */
  async close(key: string): Promise<void> {
    const file = this.files.get(key);
    if (file === undefined) return;
    this.files.delete(key);
    await closeQuietly(file);
  }

  async closeAll(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map(closeQuietly));
  }
}

/** Every byte written was synced before, so a failing close loses nothing; the descriptor is released either way. */
async function closeQuietly(file: OpenFile): Promise<void> {
  await file.handle.close().catch(() => undefined);
}
