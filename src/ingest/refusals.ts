// Counts of the requests the ingest refused, by HTTP status and error code: what an operator graphs
// and alerts on (a rise of SPOOL_FULL or INGEST_BUSY is trouble before a client reports it).
export interface RefusalCount {
  status: number;
  code: string;
  count: number;
}

export class RefusalCounter {
  private readonly counts = new Map<string, RefusalCount>();

  note(status: number, code: string): void {
    const key = `${status} ${code}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { status, code, count: 1 });
  }

  snapshot(): RefusalCount[] {
    return [...this.counts.values()].map((entry) => ({ ...entry }));
  }
}
