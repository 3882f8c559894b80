// What the chaos and fuzz suites measured, as rows of docs/reliability.md. Each suite records one row
// per fault injected or kind of bad input tried, with the counts it saw itself; the rows of a suite
// go to test-results/reliability/<suite>.json (rewritten on every record, so a suite cut short still
// leaves what it measured), and scripts/reliability-report.mjs renders them all into the doc.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReliabilityRow {
  /** What was done: the fault injected or the bad input tried. */
  fault: string;
  /** Requests (or events) sent; what the unit is, is in `unit`. */
  sent: number;
  /** Events the daemon acknowledged (202 / legacy 200). */
  acknowledged: number;
  /** Distinct acknowledged events found at the destination(s). */
  delivered: number;
  /** Extra copies of events found at the destination(s). */
  duplicated: number;
  /** Acknowledged events not found. */
  lost: number;
  /** Of the lost, how many the daemon counted and logged as lost (its own accounting). */
  lostAccounted?: number;
  /** `events` or `requests` (what `sent` counts). */
  unit?: 'events' | 'requests';
  /** Where delivery was checked: `kafka`, `file`, `kafka+file`. */
  destination?: string;
  /** Whether every assertion of the case held. */
  outcome: 'pass' | 'fail';
  /** One line: what went wrong, or what else is worth knowing (duplicates, restarts, seed). */
  notes?: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RELIABILITY_DIR = join(repoRoot, 'test-results', 'reliability');

const rows = new Map<string, ReliabilityRow[]>();

/** Records a row of `suite` (the table's group) and writes the suite's file. */
export function recordReliability(suite: string, row: ReliabilityRow): void {
  const list = rows.get(suite) ?? [];
  list.push(row);
  rows.set(suite, list);
  mkdirSync(RELIABILITY_DIR, { recursive: true });
  const file = join(RELIABILITY_DIR, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify({ suite, recordedAt: new Date().toISOString(), node: process.version, rows: list }, null, 2)}\n`);
}

/**
 * Runs one case and records its rows whatever happens: `body` fills in counts as the case goes, and
 * the rows say `fail` (with the error's first line) when the case throws.
 */
export async function withRows(suite: string, faults: string[], body: (rows: ReliabilityRow[]) => Promise<void>): Promise<void> {
  const rows = faults.map((fault): ReliabilityRow => ({ fault, sent: 0, acknowledged: 0, delivered: 0, duplicated: 0, lost: 0, outcome: 'fail' }));
  let failure: string | undefined;
  try {
    await body(rows);
  } catch (error) {
    failure = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 240);
    throw error;
  } finally {
    for (const row of rows) {
      if (failure === undefined) row.outcome = 'pass';
      else row.notes = row.notes ? `${row.notes}; FAILED: ${failure}` : `FAILED: ${failure}`;
      recordReliability(suite, row);
    }
  }
}

/** `withRows` for a case with one row. */
export function withRow(suite: string, fault: string, body: (row: ReliabilityRow) => Promise<void>): Promise<void> {
  return withRows(suite, [fault], ([row]) => body(row!));
}

/** Counts of a delivery check: which acknowledged ids arrived, how often. */
export function tally(acknowledged: Iterable<string | number>, seen: Iterable<string | number>): { delivered: number; duplicated: number; lost: number; missing: Array<string | number> } {
  const counts = new Map<string | number, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  let delivered = 0;
  let duplicated = 0;
  const missing: Array<string | number> = [];
  for (const id of acknowledged) {
    const count = counts.get(id) ?? 0;
    if (count === 0) missing.push(id);
    else {
      delivered++;
      duplicated += count - 1;
    }
  }
  return { delivered, duplicated, lost: missing.length, missing };
}
