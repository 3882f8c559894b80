// Shared by the chaos suites: a load generator that remembers exactly what the daemon acknowledged,
// readers of what reached each destination, and a bounded wait. Events are `{"n":<int>,"pad":…}`
// with n unique across a run, so that delivery is checked event by event.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postEvents } from '../integration/daemon-process';

export interface LoadOptions {
  /** Parallel clients (default 4). */
  clients?: number;
  /** Events per request (default 50). */
  batch?: number;
  /** Query string of every request (default '?ack=spool'). */
  query?: string;
  /** Bytes of padding per event (default 60). */
  padBytes?: number;
  /** Stop by itself after this many acknowledged events (default: only on stop()). */
  maxAcknowledged?: number;
}

/**
 * Clients posting NDJSON batches until stopped. A request that fails (the daemon is down, a
 * connection was cut) or is answered anything but 202 was not acknowledged: it is counted as sent,
 * never as acknowledged, exactly as a client would have to retry it.
 */
export class LoadGenerator {
  readonly acknowledged = new Set<number>();
  sentEvents = 0;
  sentRequests = 0;
  failedRequests = 0;
  /** Status codes other than 202, with counts. */
  readonly refusals = new Map<number, number>();
  private next = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly topic: string,
    private readonly options: LoadOptions = {},
  ) {
    this.done = Promise.all(Array.from({ length: options.clients ?? 4 }, () => this.client())).then(() => undefined);
  }

  private async client(): Promise<void> {
    const size = this.options.batch ?? 50;
    const pad = 'x'.repeat(this.options.padBytes ?? 60);
    while (this.running) {
      const batch = Array.from({ length: size }, () => ({ n: this.next++, pad }));
      this.sentEvents += batch.length;
      this.sentRequests++;
      try {
        const answer = await postEvents(this.url, this.topic, batch, this.options.query ?? '?ack=spool');
        if (answer.status === 202) for (const event of batch) this.acknowledged.add(event.n);
        else this.refusals.set(answer.status, (this.refusals.get(answer.status) ?? 0) + 1);
      } catch {
        this.failedRequests++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (this.options.maxAcknowledged !== undefined && this.acknowledged.size >= this.options.maxAcknowledged) this.running = false;
    }
  }

  /** Resolves once `count` more events than now have been acknowledged (or the deadline passes: throws). */
  async waitForMore(count: number, timeoutMs = 60_000): Promise<void> {
    const target = this.acknowledged.size + count;
    await waitFor(() => this.acknowledged.size >= target, timeoutMs, `${count} more acknowledged events (have ${this.acknowledged.size})`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Polls `condition` every 100 ms; throws naming `what` if it does not hold within `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface SinkStats {
  sink: string;
  state: string;
  nextSeq: number;
  lagRecords: number;
  deadLetteredRecords?: number;
  [key: string]: unknown;
}

export interface DaemonStats {
  spool: Record<string, number | boolean>;
  sinks: SinkStats[];
  [key: string]: unknown;
}

export async function daemonStats(url: string): Promise<DaemonStats> {
  return (await (await fetch(`${url}/stats`)).json()) as DaemonStats;
}

/** Waits until every sink has delivered everything spooled (lag 0). */
export async function waitForDrain(url: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await daemonStats(url)).sinks.every((sink) => sink.lagRecords === 0), timeoutMs, 'every sink to catch up (lag 0)');
}

/** Every line the file sink wrote for `topic` (rotated files included), parsed; a line that is not JSON is returned as `{ unparsable: line }`. */
export async function fileSinkLines(outDir: string, topic: string): Promise<any[]> {
  const names = (await readdir(outDir).catch(() => [] as string[])).filter((name) => name === `${topic}.ndjson` || name.startsWith(`${topic}.ndjson.`));
  const lines: any[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(outDir, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ unparsable: line });
      }
    }
  }
  return lines;
}

/** The number `n` a LoadGenerator event carries, read from a consumed Kafka message. */
export const eventNumber = (message: { value: Buffer }): number => JSON.parse(message.value.toString()).n as number;

/**
 * Events of one request that a partition holds out of order, as `partition p: n after m` (empty when
 * none). A request's events are spooled in order, so every sink must keep that order within a
 * partition whatever the faults: read in offset order, the first copy of each event (later copies
 * are redeliveries, at least once) must follow the earlier events of its request that went to the
 * same partition. `requestSize` events per request, numbered consecutively (LoadGenerator does).
 */
export function outOfOrder(messages: Array<{ partition: number; value: Buffer }>, requestSize: number): string[] {
  const seen = new Set<number>();
  const latest = new Map<string, number>();
  const wrong: string[] = [];
  for (const message of messages) {
    const n = eventNumber(message);
    if (seen.has(n)) continue;
    seen.add(n);
    const request = `${message.partition}/${Math.floor(n / requestSize)}`;
    const before = latest.get(request);
    if (before !== undefined && n < before) wrong.push(`partition ${message.partition}: ${n} after ${before}`);
    latest.set(request, n);
  }
  return wrong;
}

/**
 * `sinks.kafka.maxInFlight` for the chaos suites: $SPARKNGIN_TEST_KAFKA_MAX_IN_FLIGHT to run them
 * against another setting than the default (the suites are the proof for each value shipped).
 */
export function kafkaInFlight(): { maxInFlight?: number } {
  const value = process.env.SPARKNGIN_TEST_KAFKA_MAX_IN_FLIGHT;
  return value === undefined || value === '' ? {} : { maxInFlight: Number(value) };
}
