// Small metadata files (cursors, the manifest) are replaced whole: write a temp file → fdatasync →
// rename over the old one → fsync the directory (tidwall/wal's way), so that a crash leaves either
// the old or the new content, never a torn one.
import { type FileHandle, mkdir, open, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

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

/**
 * Makes `dir` and whatever of its path is missing, with each new directory's entry made durable (its
 * parent synced): syncing a directory makes its own entries durable, not its entry in its parent,
 * so a file in a new directory would otherwise be relied on while the path to it could vanish in a
 * power loss. Nothing is synced when `dir` was there already (every start but the first).
 */
export async function mkdirDurably(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // mkdir made `first` and each directory under it down to `dir`: their parents hold new entries.
  const parents: string[] = [];
  for (let made = resolve(dir), top = resolve(first); ; made = dirname(made)) {
    parents.push(dirname(made));
    if (made === top || dirname(made) === made) break;
  }
  await Promise.all(parents.map(syncDir));
}

/** Cuts the file to `length` and makes the cut durable. */
export function truncateDurably(path: string, length: number): Promise<void> {
  return withFile(path, 'r+', async (file) => {
    await file.truncate(length);
    await file.datasync();
  });
}
