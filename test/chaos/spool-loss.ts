// How the chaos suites read the daemon's own account of spool damage, per issue 7: "every lost or
// skipped spool range is logged at error, counted in /stats and /metrics"; "an unreadable segment
// is quarantined (moved aside, counted)". The contract assumed here (the spool's accounting is
// being built beside these suites; the names are the ones its /stats and logs are expected to use):
//   - /stats `spool.lostRecords`: acknowledged records the spool could not deliver (damage, a
//     missing or unreadable segment), summed with any other `spool.lost*` counter;
//   - /stats `spool.quarantinedSegments` (any `spool.quarantine*` counter): segments moved aside;
//   - /metrics: a `sparkngin_spool_lost_records_total` sample equal to the /stats count;
//   - one error-level log line per lost range, its event `spool.*`, with `fromSeq` (first lost
//     sequence number) and `toSeq` (exclusive; inclusive is accepted too).
export interface LossAccount {
  /** Records the daemon says it lost. */
  counted: number;
  /** Segments the daemon says it moved aside. */
  quarantined: number;
  /** Value of the lost-records metric, if /metrics has it. */
  metric: number | undefined;
  /** [fromSeq, toSeq] of every error-level spool line that names a range. */
  ranges: Array<[number, number]>;
  /** Events of every error-level log line. */
  errorEvents: string[];
}

function sumMatching(spool: Record<string, unknown>, pattern: RegExp): number {
  let sum = 0;
  for (const [key, value] of Object.entries(spool)) if (pattern.test(key) && typeof value === 'number') sum += value;
  return sum;
}

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
    counted: sumMatching(stats.spool, /^lost/i),
    quarantined: sumMatching(stats.spool, /^quarantin/i),
    metric: sample ? Number(sample[1]) : undefined,
    ranges,
    errorEvents,
  };
}

/** The sequence numbers in `missing` that no logged range covers. */
export function unlogged(missing: number[], ranges: Array<[number, number]>): number[] {
  return missing.filter((seq) => !ranges.some(([from, to]) => seq >= from && seq <= to));
}
