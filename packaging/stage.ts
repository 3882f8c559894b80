// Staging trees: the formats (tarball, .deb, .pkg) lay out their files in a directory first, with
// the exact modes they ship with, then archive it.
import { chmodSync, copyFileSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What goes into a staged file: text, or a copy of a file. */
export type Content = string | Buffer | { file: string };

/** `put(path, mode, content)` under `top`, making parent directories as needed. */
export function stager(top: string): (to: string, mode: number, content: Content) => string {
  return (to, mode, content) => {
    const dest = join(top, to);
    mkdirSync(dirname(dest), { recursive: true });
    if (typeof content === 'string' || Buffer.isBuffer(content)) writeFileSync(dest, content);
    else copyFileSync(content.file, dest);
    chmodSync(dest, mode);
    return dest;
  };
}

/** Directories 0755 and every mtime the release date: an archive of the tree then depends only on the sources. */
export function settle(dir: string, epoch: number): void {
  chmodSync(dir, 0o755);
  utimesSync(dir, epoch, epoch);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) settle(path, epoch);
    else utimesSync(path, epoch, epoch);
  }
}
