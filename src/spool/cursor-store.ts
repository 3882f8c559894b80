// Durable per-sink cursors: the sequence number of the next record a sink has not yet had
// accepted. Written write-temp → fsync → rename (→ fsync dir), so a crash leaves either the old or
// the new cursor, never a torn one. A lost cursor update only means redelivery (at least once).
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredCursor {
  nextSeq: number;
}

export class CursorStore {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  private path(name: string): string {
    return join(this.dir, `${encodeURIComponent(name)}.json`);
  }

  async load(name: string): Promise<StoredCursor | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.path(name), 'utf8')) as Partial<StoredCursor>;
      return typeof parsed.nextSeq === 'number' && Number.isSafeInteger(parsed.nextSeq) && parsed.nextSeq >= 0
        ? { nextSeq: parsed.nextSeq }
        : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A cursor we cannot read is treated as absent: the sink starts from the oldest record, which
      // redelivers rather than loses.
      return undefined;
    }
  }

  async save(name: string, cursor: StoredCursor): Promise<void> {
    const target = this.path(name);
    const temp = `${target}.tmp`;
    const file = await open(temp, 'w');
    try {
      await file.writeFile(JSON.stringify(cursor));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
