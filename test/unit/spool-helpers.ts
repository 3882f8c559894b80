import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/ops/log';
import type { SpoolReader, SpoolRecord } from '../../src/spool/reader';
import { Spool, type SpoolOptions } from '../../src/spool/spool';

export async function tempDir(prefix = 'sparkngin-spool-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function openSpool(dir: string, overrides: Partial<SpoolOptions> = {}): Promise<Spool> {
  return Spool.open({
    dir,
    fsync: 'batch',
    commitIntervalMs: 0,
    segmentBytes: 64 * 1024,
    maxBytes: 16 * 1024 * 1024,
    maxAgeSeconds: 0,
    fullPolicy: 'reject',
    maintenanceIntervalMs: 60_000,
    ...overrides,
  });
}

export const payloadOf = (i: number, size = 40): Buffer => Buffer.from(`event-${i}-`.padEnd(size, 'x'));

/** Reads until `count` records arrived (or nothing more comes within the reader's wait). */
export async function readAll(reader: SpoolReader, count: number): Promise<Array<{ seq: number; text: string }>> {
  const out: Array<{ seq: number; text: string }> = [];
  while (out.length < count) {
    const timer = setTimeout(() => reader.interrupt(), 2000);
    const records = await reader.read(1000, 1024 * 1024);
    clearTimeout(timer);
    if (records.length === 0) break;
    for (const record of records) out.push({ seq: record.seq, text: record.payload.toString() });
  }
  return out;
}

/** A logger that keeps every line, parsed, for assertions on what was logged. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  return { logger: createLogger('debug', {}, (line) => void lines.push(JSON.parse(line))), lines };
}

/** Reads everything the reader can get until it stands at the committed end of the spool. */
export async function drain(spool: Spool, reader: SpoolReader): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  for (;;) {
    const timer = setTimeout(() => reader.interrupt(), 200);
    const records = await reader.read(1000, 1024 * 1024);
    clearTimeout(timer);
    out.push(...records);
    if (reader.readPosition >= spool.committedSeq) return out;
  }
}
