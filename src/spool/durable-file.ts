// Small metadata files (cursors, the manifest) are replaced whole: write a temp file → fdatasync →
// rename over the old one → fsync the directory (tidwall/wal's way), so that a crash leaves either
// the old or the new content, never a torn one.
import { type FileHandle, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Runs `use` on the file opened with `flags`, and closes it whatever happens. */
async function withFile<T>(path: string, flags: string, use: (file: FileHandle) => Promise<T>): Promise<T> {
  const file = await open(path, flags);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

export async function writeFileDurably(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  await withFile(temp, 'w', async (file) => {
    await file.writeFile(text);
    await file.datasync();
  });
  await rename(temp, path);
  await syncDir(dirname(path));
}

/** Makes the directory's entries (a file created, renamed or removed) durable. */
export function syncDir(dir: string): Promise<void> {
  return withFile(dir, 'r', (handle) => handle.sync());
}

/** Cuts the file to `length` and makes the cut durable. */
export function truncateDurably(path: string, length: number): Promise<void> {
  return withFile(path, 'r+', async (file) => {
    await file.truncate(length);
    await file.datasync();
  });
}
