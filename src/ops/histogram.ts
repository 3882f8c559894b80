// A Prometheus-style histogram with fixed bucket bounds: `observe` is a few comparisons and two
// additions, cheap enough for every request on the ingest thread and every batch on a delivery
// thread. A snapshot is plain data (it crosses from a delivery thread, and /stats shows it as it is);
// snapshots of the same bounds add up (a delivery thread that was restarted keeps its history).

export interface HistogramSnapshot {
  /** Upper bounds of the buckets, increasing; an observation above the last falls in +Inf. */
  bounds: readonly number[];
  /** Observations per bucket (not cumulative), one more than `bounds`: the last is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** Seconds, 1 ms to 30 s: request and send latencies. */
export const SECONDS_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Records or events, 1 to 100 000: events per request, records per batch. */
export const COUNT_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000];

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.sum += value;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

/** An empty snapshot with `bounds`. */
export function emptyHistogram(bounds: readonly number[]): HistogramSnapshot {
  return { bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

/** `a` + `b` (same bounds). */
export function addHistograms(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  return { bounds: a.bounds, counts: a.counts.map((count, index) => count + (b.counts[index] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count };
}

export function isHistogram(value: unknown): value is HistogramSnapshot {
  return typeof value === 'object' && value !== null && Array.isArray((value as HistogramSnapshot).bounds) && Array.isArray((value as HistogramSnapshot).counts);
}
