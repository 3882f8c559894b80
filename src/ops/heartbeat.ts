// The heartbeat: every heartbeat.intervalSeconds an event from this instance on heartbeat.topic,
// appended to the spool through the same target as an HTTP request and delivered by the same sinks.
// So a consumer that sees heartbeats knows the whole path works, ingest to destination, and learns
// how the instance is (spool, each sink's state, lag and last error, rates); one that stops seeing
// them knows something on the path does not. The first beat goes at start, the last (`stopping`)
// at the start of a graceful stop, so that a reader can tell a stop from a death.
//
// Built from the same snapshot as /stats (absolute paths cut out): it renders the catalogue's
// numbers, it counts none of its own but its beats. Keyed by the instance id, so that a Kafka topic
// keeps each instance's beats in order in one partition.
import type { Config } from '../config/defaults';
import type { DaemonStats } from '../daemon/daemon';
import { newEventId, newHeaders } from '../envelope/envelope';
import type { IngestTarget } from '../ingest/target';
import type { Logger } from './log';

/** The JSON payload of a heartbeat event (format 1). Readers (the agent, the Nagios check) parse this. */
export interface HeartbeatEvent {
  kind: 'sparkngin.heartbeat';
  format: 1;
  /** The instance id (DATADIR/instance-id): stable across restarts. */
  instance: string;
  host: string;
  version: string;
  /** Beats since this start (0 is the first, sent at start). */
  seq: number;
  /** When it was made (ISO 8601); the envelope's `ts` is the same moment in ms. */
  sentAt: string;
  /** The next beat is due this many seconds later: a reader judges lateness by it. */
  intervalSeconds: number;
  uptimeSeconds: number;
  /** The last beat of a graceful stop. */
  stopping?: true;
  /** Takes events and every sink delivers (what GET /imok answers `imok` for); what is wrong otherwise. */
  healthy: boolean;
  problems: string[];
  spool: { records: number; bytes: number; maxBytes: number; full: boolean };
  /** Since the previous beat (the first: since start). */
  rates: { acceptedEventsPerSecond: number; refusedRequestsPerSecond: number };
  sinks: Array<{ sink: string; state: string; up: boolean; lagRecords: number; lagSeconds: number; deliveredPerSecond: number; lastError?: string }>;
}

export interface HeartbeatStats {
  enabled: boolean;
  /** Beats appended to the spool since start. */
  sent: number;
  /** Beats the spool refused (full, closing): the same trouble an HTTP client would meet. */
  failed: number;
}

export interface HeartbeatOptions {
  config: Config['heartbeat'];
  /** The daemon's stats as /stats shows them. */
  stats: () => DaemonStats;
  target: IngestTarget;
  logger: Logger;
}

interface Counters {
  at: number;
  accepted: number;
  refused: number;
  delivered: Map<string, number>;
}

const countersOf = (stats: DaemonStats, at: number): Counters => ({
  at,
  accepted: stats.ingest.accepted.events,
  refused: stats.ingest.refused.reduce((sum, entry) => sum + entry.count, 0),
  delivered: new Map(stats.sinks.map((sink) => [sink.sink, sink.deliveredRecords])),
});

const perSecond = (now: number, then: number, seconds: number) => Math.round(((now - then) / Math.max(seconds, 0.001)) * 100) / 100;

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private sent = 0;
  private failed = 0;
  private previous: Counters | undefined;
  private readonly startedAt = Date.now();

  constructor(private readonly options: HeartbeatOptions) {}

  /** Sends the first beat now and one every interval after. */
  start(): void {
    if (!this.options.config.enabled) return;
    void this.beat(false);
    this.timer = setInterval(() => void this.beat(false), this.options.config.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the beats, after a last one that says so (appended before the sinks drain). */
  async stop(): Promise<void> {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beat(true);
  }

  stats(): HeartbeatStats {
    return { enabled: this.options.config.enabled, sent: this.sent, failed: this.failed };
  }

  /** The event of a beat made from `stats` at `now`. */
  event(stats: DaemonStats, now: number, stopping: boolean): HeartbeatEvent {
    const counters = countersOf(stats, now);
    const previous = this.previous ?? { at: this.startedAt, accepted: 0, refused: 0, delivered: new Map<string, number>() };
    const seconds = (now - previous.at) / 1000;
    this.previous = counters;
    const { problems } = stats;
    return {
      kind: 'sparkngin.heartbeat',
      format: 1,
      instance: stats.instance.id,
      host: stats.instance.host,
      version: stats.version,
      seq: this.seq++,
      sentAt: new Date(now).toISOString(),
      intervalSeconds: this.options.config.intervalSeconds,
      uptimeSeconds: stats.uptimeSeconds,
      ...(stopping ? { stopping: true as const } : {}),
      healthy: problems.length === 0,
      problems,
      spool: { records: stats.spool.nextSeq - stats.spool.firstSeq, bytes: stats.spool.bytes, maxBytes: stats.spool.maxBytes, full: stats.spool.full },
      rates: { acceptedEventsPerSecond: perSecond(counters.accepted, previous.accepted, seconds), refusedRequestsPerSecond: perSecond(counters.refused, previous.refused, seconds) },
      sinks: stats.sinks.map((sink) => ({
        sink: sink.sink,
        state: sink.state,
        up: sink.up,
        lagRecords: sink.lagRecords,
        lagSeconds: sink.lagSeconds,
        deliveredPerSecond: perSecond(sink.deliveredRecords, previous.delivered.get(sink.sink) ?? 0, seconds),
        ...(sink.lastError === undefined ? {} : { lastError: sink.lastError }),
      })),
    };
  }

  private async beat(stopping: boolean): Promise<void> {
    const { config, target, logger } = this.options;
    const now = Date.now();
    const event = this.event(this.options.stats(), now, stopping);
    const envelope = { id: newEventId(now), topic: config.topic, key: event.instance, ts: now, ip: '', host: event.host, headers: newHeaders(), type: 'json' as const, data: Buffer.from(JSON.stringify(event)) };
    try {
      await target.accept([envelope], 'spool');
      this.sent++;
    } catch (error) {
      this.failed++;
      logger.warn('heartbeat.failed', { topic: config.topic, error });
    }
  }
}
