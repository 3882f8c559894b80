// The last minutes of the daemon's rates, for the sparklines of the status page and `sparkngin
// status|top`: every STEP_SECONDS the counters are read and the rates since the previous reading
// kept, POINTS of them (ten minutes). Column-wise arrays, oldest first, so that a view draws a line
// from one array; bounded, and read from the same counters as /stats, so a rate here is the
// difference of two numbers /metrics shows.

export const STEP_SECONDS = 5;
export const POINTS = 120;

/** What a reading takes from the daemon's counters. */
export interface Reading {
  acceptedEvents: number;
  refusedRequests: number;
  spoolBytes: number;
  sinks: Array<{ sink: string; deliveredRecords: number; lagRecords: number }>;
}

export interface HistoryStats {
  stepSeconds: number;
  /** End of each step, ms since the epoch. */
  times: number[];
  acceptedPerSecond: number[];
  refusedPerSecond: number[];
  spoolBytes: number[];
  sinks: Array<{ sink: string; deliveredPerSecond: number[]; lagRecords: number[] }>;
}

const push = (column: number[], value: number) => {
  column.push(value);
  if (column.length > POINTS) column.shift();
};

export class RateHistory {
  private readonly history: HistoryStats;
  private previous: { at: number; reading: Reading };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Reading,
    private readonly now: () => number = Date.now,
  ) {
    const reading = read();
    this.previous = { at: now(), reading };
    this.history = {
      stepSeconds: STEP_SECONDS,
      times: [],
      acceptedPerSecond: [],
      refusedPerSecond: [],
      spoolBytes: [],
      sinks: reading.sinks.map(({ sink }) => ({ sink, deliveredPerSecond: [], lagRecords: [] })),
    };
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), STEP_SECONDS * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes a reading and keeps the rates since the previous one. */
  sample(): void {
    const at = this.now();
    const reading = this.read();
    const { reading: before } = this.previous;
    const seconds = Math.max((at - this.previous.at) / 1000, 0.001);
    const rate = (now: number, then: number) => Math.round((Math.max(0, now - then) / seconds) * 100) / 100;
    const { history } = this;
    push(history.times, at);
    push(history.acceptedPerSecond, rate(reading.acceptedEvents, before.acceptedEvents));
    push(history.refusedPerSecond, rate(reading.refusedRequests, before.refusedRequests));
    push(history.spoolBytes, reading.spoolBytes);
    history.sinks.forEach((line, index) => {
      const now = reading.sinks[index];
      push(line.deliveredPerSecond, rate(now?.deliveredRecords ?? 0, before.sinks[index]?.deliveredRecords ?? 0));
      push(line.lagRecords, now?.lagRecords ?? 0);
    });
    this.previous = { at, reading };
  }

  /** A copy: what /stats shows. */
  stats(): HistoryStats {
    const { history } = this;
    return {
      ...history,
      times: [...history.times],
      acceptedPerSecond: [...history.acceptedPerSecond],
      refusedPerSecond: [...history.refusedPerSecond],
      spoolBytes: [...history.spoolBytes],
      sinks: history.sinks.map((line) => ({ sink: line.sink, deliveredPerSecond: [...line.deliveredPerSecond], lagRecords: [...line.lagRecords] })),
    };
  }
}
