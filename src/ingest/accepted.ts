// What the ingest acknowledged: requests, events, and how long each request took from its headers
// to its answer and how many events it carried (histograms, src/ops/histogram.ts). Counted once per
// accepted request on the ingest thread: two additions and two short bucket searches.
import { COUNT_BUCKETS, Histogram, type HistogramSnapshot, SECONDS_BUCKETS } from '../ops/histogram';

export interface AcceptedStats {
  accepted: { requests: number; events: number };
  /** Seconds from a request's headers to its acknowledgement. */
  requestSeconds: HistogramSnapshot;
  eventsPerRequest: HistogramSnapshot;
}

export class AcceptedCounter {
  private requests = 0;
  private events = 0;
  private readonly seconds = new Histogram(SECONDS_BUCKETS);
  private readonly sizes = new Histogram(COUNT_BUCKETS);

  /** A request that arrived at `receivedAt` (performance.now()) had its `events` acknowledged. */
  note(receivedAt: number, events: number): void {
    this.requests++;
    this.events += events;
    this.seconds.observe((performance.now() - receivedAt) / 1000);
    this.sizes.observe(events);
  }

  snapshot(): AcceptedStats {
    return { accepted: { requests: this.requests, events: this.events }, requestSeconds: this.seconds.snapshot(), eventsPerRequest: this.sizes.snapshot() };
  }
}
