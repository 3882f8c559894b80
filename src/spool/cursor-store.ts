// Durable per-sink cursors: the sequence number of the next record a sink has not yet had accepted,
// replaced whole (durable-file.ts), so a crash leaves either the old or the new cursor, never a torn
// one. A lost cursor update only means redelivery (at least once).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirDurably, writeFileDurably } from './durable-file';

export interface StoredCursor {
  nextSeq: number;
}

/** A cursor as found on disk: absent (a new sink), usable, or there but unusable (and why). */
export type LoadedCursor = { kind: 'absent' } | { kind: 'cursor'; cursor: StoredCursor } | { kind: 'unusable'; why: string };

export class CursorStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdirDurably(this.dir);
  }

  path(name: string): string {
    return join(this.dir, `${encodeURIComponent(name)}.json`);
  }

  async load(name: string): Promise<LoadedCursor> {
    let text: string;
    try {
      text = await readFile(this.path(name), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unusable', why: `unreadable: ${code ?? (error as Error).message}` };
    }
    return parseCursor(text);
  }

  save(name: string, cursor: StoredCursor): Promise<void> {
    return writeFileDurably(this.path(name), JSON.stringify(cursor));
  }
}

export function parseCursor(text: string): LoadedCursor {
  try {
    const parsed = JSON.parse(text) as Partial<StoredCursor> | null;
    const seq = parsed?.nextSeq;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return { kind: 'cursor', cursor: { nextSeq: seq } };
    return { kind: 'unusable', why: 'no valid nextSeq in it' };
  } catch {
    return { kind: 'unusable', why: 'not JSON' };
  }
}
