// How the chaos suites read the daemon's own account of spool damage (src/spool/damage.ts), per
// issue 7: "every lost or skipped spool range is logged at error, counted in /stats and /metrics";
// "an unreadable segment is quarantined (moved aside, counted)". What is read:
//   - /stats `spool.lostRecords`: acknowledged records found lost, each counted once;
//   - /stats `spool.quarantinedSegments`: unreadable segments moved aside to spool/quarantine, and
//     `spool.strayFiles`: files in the way (a directory with a segment's name found at start) moved there;
//   - /metrics `sparkngin_spool_lost_records_total`, which must equal the /stats count;
//   - the error-level log lines of the spool (`spool.records_lost`, `spool.records_skipped`) with
//     `fromSeq` and `toSeq` (inclusive): every event not delivered must be inside one.
export interface LossAccount {
  /** Records the daemon says it lost. */
  counted: number;
  /** Segments the daemon says it moved aside. */
  quarantined: number;
  /** Stray files (not segments) it moved aside. */
  strays: number;
  /** Value of the lost-records metric, if /metrics has it. */
  metric: number | undefined;
  /** [fromSeq, toSeq] of every error-level spool line that names a range. */
  ranges: Array<[number, number]>;
  /** Events of every error-level log line. */
  errorEvents: string[];
}

const count = (value: unknown) => (typeof value === 'number' ? value : 0);

export async function lossAccount(url: string, logs: string): Promise<LossAccount> {
  const stats = (await (await fetch(`${url}/stats`)).json()) as { spool: Record<string, unknown> };
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const sample = /^sparkngin_spool_lost_records_total(?:\{[^}]*\})? (\d+)/m.exec(metrics);
  const ranges: Array<[number, number]> = [];
  const errorEvents: string[] = [];
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.level !== 'error') continue;
    errorEvents.push(String(entry.event));
    if (String(entry.event).startsWith('spool.') && typeof entry.fromSeq === 'number' && typeof entry.toSeq === 'number') ranges.push([entry.fromSeq, entry.toSeq]);
  }
  return {
    counted: count(stats.spool.lostRecords),
    quarantined: count(stats.spool.quarantinedSegments),
    strays: count(stats.spool.strayFiles),
    metric: sample ? Number(sample[1]) : undefined,
    ranges,
    errorEvents,
  };
}

/** The sequence numbers in `missing` that no logged range covers. */
export function unlogged(missing: number[], ranges: Array<[number, number]>): number[] {
  return missing.filter((seq) => !ranges.some(([from, to]) => seq >= from && seq <= to));
}
