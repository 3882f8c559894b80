// Small metadata files (cursors, the manifest) are replaced whole: write a temp file → fdatasync →
// rename over the old one → fsync the directory (tidwall/wal's way), so that a crash leaves either
// the old or the new content, never a torn one.
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileDurably(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await syncDir(dirname(path));
}

/** Makes the directory's entries (a file created, renamed or removed) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
