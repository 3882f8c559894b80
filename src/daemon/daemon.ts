// The daemon: spool, sinks with their dispatchers, and the HTTP ingest, started in that order (so
// that nothing is accepted before it can be stored) and stopped in the reverse one. Each sink is
// delivered on a thread of its own (src/delivery/), reading the spool itself: ingest and delivery
// each get a core, and a slow or busy sink never holds up the thread that answers HTTP.
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/defaults';
import type { Advertiser } from '../discovery/advertiser';
import { SparknginError } from '../errors';
import { AcceptedCounter } from '../ingest/accepted';
import { RefusalCounter } from '../ingest/refusals';
import { authRequired } from '../ingest/auth';
import type { OpsEndpoints } from '../ingest/context';
import { createIngestServer, ingestLoad, type IngestServer } from '../ingest/server';
import { type IngestCounts, IngestThreads, listenShared, servingConfig } from '../ingest/threads/pool';
import { ZmqIngest, type ZmqStats } from '../ingest/zmq/ingest';
import { type CertificateFacts, reloadTls, servedCertificate, tlsEnabled } from '../ingest/tls';
import { healthProblems } from '../ops/health';
import type { GangliaPublisher } from '../ops/ganglia/publisher';
import { Heartbeat, type HeartbeatStats } from '../ops/heartbeat';
import { type HistoryStats, RateHistory, type Reading } from '../ops/history';
import type { LogEventCount, Logger } from '../ops/log';
import { type ProcessStats, processStats } from '../ops/process';
import { renderPrometheus } from '../ops/prometheus';
import { withoutPaths } from '../ops/redact';
import { DeliveryThread, type SinkThreadStats } from '../delivery/delivery-thread';
import { enabledSinks } from '../sinks/registry';
import { Spool, type SpoolStats } from '../spool/spool';
import { VERSION } from '../version';
import type { DataDirLock } from './data-dir-lock';
import { type DataDirOpening, openDataDir } from './data-dir';
import { SpoolIngestTarget } from './ingest-target';
import { listen } from './listen';

/**
 * What /stats shows (through ops/redact.ts), and what every other view renders from: the catalogue
 * (src/ops/catalogue.ts) names each metric by its place here.
 */
export interface DaemonStats {
  version: string;
  /** The instance id (DATADIR/instance-id, kept across restarts) and host name. */
  instance: { id: string; host: string };
  uptimeSeconds: number;
  /** Why it does not take events now (what /ready answers 503 with); empty when it does. */
  notReady: string[];
  /** What keeps it from being well (src/ops/health.ts: not ready, a sink down); empty when GET /imok answers imok. */
  problems: string[];
  process: ProcessStats;
  /** Log lines at warn and error since start, by event. */
  log: { events: LogEventCount[] };
  /**
   * Requests the ingest acknowledged and refused since start (refusals by status and code); what it
   * holds now; ack=sink requests waiting; the certificate it serves, with TLS on.
   */
  ingest: IngestCounts & { sinkAckWaiting: number; tls?: Pick<CertificateFacts, 'subject' | 'notAfter'>; zmq?: ZmqStats };
  spool: SpoolStats & { maxBytes: number };
  sinks: SinkStats[];
  /** The mDNS advertisement: the interfaces advertised on now (0: none) and the name in use. */
  discovery: { interfaces: number; name?: string };
  heartbeat: HeartbeatStats;
  /** The rates of the last minutes, for sparklines. */
  history: HistoryStats;
}

export type SinkStats = SinkThreadStats & {
  /** False while the destination is down (health `down`). */
  up: boolean;
  /** Records spooled that the sink has not had accepted. */
  lagRecords: number;
  /** Age of the oldest of them, in seconds (0 when caught up). */
  lagSeconds: number;
  /** Bytes of the segments the sink has not passed. */
  spoolBytes: number;
};

/** The ingest port cannot be had (in use, or below 1024 without the capability). */
export class ListenError extends SparknginError {
  constructor(listen: { host: string; port: number }, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'the address is in use' : cause.code === 'EACCES' ? 'permission denied' : cause.message;
    super('LISTEN_FAILED', `cannot listen on ${listen.host}:${listen.port}: ${why}`, { cause });
  }
}

export class Daemon {
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  /** The mDNS advertisement (src/discovery/), from listen until the start of a stop. */
  private advertiser: Advertiser | undefined;
  private readonly heartbeat: Heartbeat;
  private readonly history: RateHistory;
  /** Sending the metrics to gmond (ganglia.hosts), from listen until the start of a stop. */
  private ganglia: GangliaPublisher | undefined;
  /** ZeroMQ ingest (zmq.pull, zmq.router), when configured: from listen until the start of a stop. */
  private zmq: ZmqIngest | undefined;
  /** The other threads serving the events port (http.threads > 1), from listen until the stop. */
  private threads: IngestThreads | undefined;

  private constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly spool: Spool,
    private readonly deliveries: DeliveryThread[],
    private readonly target: SpoolIngestTarget,
    private readonly server: IngestServer,
    private readonly lock: DataDirLock,
    private readonly refusals: RefusalCounter,
    private readonly accepted: AcceptedCounter,
    /** The separate operations listener (ops.listen), if any. */
    private readonly opsServer: IngestServer | undefined,
    private readonly instanceId: string,
    redactedStats: () => DaemonStats,
  ) {
    this.heartbeat = new Heartbeat({ config: config.heartbeat, stats: redactedStats, target, logger });
    this.history = new RateHistory(() => this.reading());
  }

  /** `opening`: the data dir's opening, begun early by `sparkngin start` (data-dir.ts); begun here if not. */
  static async start(config: Config, logger: Logger, opening: DataDirOpening = openDataDir(config, logger)): Promise<Daemon> {
    const lock = await opening.locked;
    let spool: Spool | undefined;
    // Each sink's thread starts now and loads and starts its sink while the spool opens.
    const deliveries = enabledSinks(config).map(({ name, delivery }) => new DeliveryThread({ name, delivery, config, logger }));
    let server: IngestServer | undefined;
    let opsServer: IngestServer | undefined;
    let zmq: ZmqIngest | undefined;
    let threads: IngestThreads | undefined;
    try {
      const { instanceId, spool: opened } = await opening.opened;
      spool = opened;
      await Promise.all(deliveries.map((delivery) => delivery.open(opened)));
      const target = new SpoolIngestTarget(spool, deliveries, { timeoutMs: config.http.sinkAckTimeoutMs, maxWaiting: config.http.maxSinkAckRequests });
      // The ops endpoints read the daemon's stats. What they send over the network names no
      // absolute path (ops/redact.ts).
      let daemon: Daemon | undefined;
      const stats = () => withoutPaths(daemon!.stats(), config.dataDir);
      // With ingest threads, their numbers are asked for first, so that an answer they gave is counted.
      const fresh = <T>(view: () => T) => (): T | Promise<T> => (daemon?.threads ? daemon.threads.refresh().then(view) : view());
      const ops: OpsEndpoints = { stats: fresh(stats), metrics: fresh(() => renderPrometheus(stats())), problems: fresh(() => stats().problems) };
      const refusals = new RefusalCounter();
      const accepted = new AcceptedCounter();
      const separateOps = config.ops.listen !== '';
      const served = servingConfig(config, logger, separateOps);
      server = createIngestServer({ config: served, target, logger, refusals, accepted, ops, role: separateOps ? 'events' : 'all' });
      const events = server;
      await listenShared(server, config).catch((error: NodeJS.ErrnoException) => Promise.reject(new ListenError(config.listen, error)));
      if (separateOps) {
        const address = opsAddress(config.ops.listen);
        opsServer = createIngestServer({ config, target, logger, refusals, accepted, ops, role: 'ops' });
        await listen(opsServer, address).catch((error: NodeJS.ErrnoException) => {
          events.close();
          return Promise.reject(new ListenError(address, error));
        });
      }
      daemon = new Daemon(config, logger, spool, deliveries, target, server, lock, refusals, accepted, opsServer, instanceId, stats);
      if (config.http.threads > 1) {
        const port = (server.address() as AddressInfo).port;
        const onDied = (error: unknown) => {
          logger.error('ingest.thread_died', { error, why: 'a thread of the events port ended; the daemon stops so that systemd starts it whole again' });
          void daemon!.stop().finally(() => process.exit(1));
        };
        threads = daemon.threads = await IngestThreads.start({ config, listen: { host: config.listen.host, port }, eventsOnly: separateOps, target, ops, logger, onDied }, served);
      }
      // After the daemon exists: the HTTP listener already serves /stats, which reads it.
      zmq = daemon.zmq = await ZmqIngest.start(config, target, logger);
      // Serving already (what is accepted is stored; delivery catches up), but the start fails, as
      // before the threads, if a sink cannot start.
      const started = await Promise.allSettled(deliveries.map((delivery) => delivery.started()));
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      const { address, port } = daemon.address();
      logger.info('daemon.started', {
        version: VERSION,
        address,
        port,
        tls: tlsEnabled(config.tls),
        authRequired: authRequired(config),
        ...(opsServer ? { opsPort: (opsServer.address() as AddressInfo).port } : {}),
        ...(zmq ? { zmq: zmq.endpoints() } : {}),
        dataDir: config.dataDir,
        sinks: deliveries.map((delivery) => delivery.name),
      });
      daemon.heartbeat.start();
      daemon.history.start();
      // Loaded only now, once listening (bonjour-service, dgram and dns are a cold start's cost otherwise).
      const [{ startGanglia }, { advertiseDaemon }] = await Promise.all([import('../ops/ganglia/ganglia'), import('../discovery/advertise')]);
      daemon.ganglia = startGanglia(config, stats, logger);
      // Discovery is a convenience: an instance that cannot be advertised still takes events.
      daemon.advertiser = await advertiseDaemon(config, daemon.address(), logger, zmq?.endpoints()).catch((error: unknown) => {
        logger.warn('discovery.failed', { error });
        return undefined;
      });
      return daemon;
    } catch (error) {
      for (const listening of [server, opsServer]) if (listening?.listening) listening.close().closeAllConnections();
      await threads?.terminate();
      await zmq?.stop(Date.now());
      await Promise.all(deliveries.map((delivery) => delivery.stop(Date.now())));
      await spool?.close();
      await lock.release();
      throw error;
    }
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** SIGHUP: reads the TLS certificate, key and CA again (see ingest/tls.ts); nothing else changes. */
  reload(): void {
    this.threads?.reload();
    if (tlsEnabled(this.config.tls)) reloadTls(this.server as HttpsServer, this.config.tls, this.logger);
    else this.logger.info('daemon.reload', { reloaded: 'nothing (TLS is off; other settings take a restart)' });
  }

  private certificateStats(): Pick<DaemonStats['ingest'], 'tls'> {
    const certificate = servedCertificate(this.server);
    return certificate ? { tls: { subject: certificate.subject, notAfter: certificate.notAfter } } : {};
  }

  /** The counters the rate history reads every few seconds. */
  private reading(): Reading {
    const { nextSeq, bytes } = this.spool.stats();
    const ingest = this.ingestCounts();
    return {
      acceptedEvents: ingest.accepted.events,
      refusedRequests: ingest.refused.reduce((sum, entry) => sum + entry.count, 0),
      spoolBytes: bytes,
      sinks: this.deliveries.map((delivery) => {
        const stats = delivery.stats();
        return { sink: delivery.name, deliveredRecords: stats.deliveredRecords, lagRecords: Math.max(0, nextSeq - stats.nextSeq) };
      }),
    };
  }

  /** What the events port's threads acknowledged, refused and hold now: this one's, and the others' as last reported (IngestThreads.refresh). */
  private ingestCounts(): IngestCounts {
    const own = { ...this.accepted.snapshot(), refused: this.refusals.snapshot(), ...ingestLoad(this.server) };
    return this.threads?.withThreads(own) ?? own;
  }

  stats(): DaemonStats {
    const spool = this.spool.stats();
    const now = Date.now();
    const advertiser = this.advertiser;
    const sinks = this.deliveries.map((delivery) => {
      const stats = delivery.stats();
      const lagRecords = Math.max(0, spool.nextSeq - stats.nextSeq);
      const lagSeconds = lagRecords > 0 && stats.oldestPendingTs !== undefined ? Math.max(0, (now - stats.oldestPendingTs) / 1000) : 0;
      return { ...stats, up: stats.health.state !== 'down', lagRecords, lagSeconds, spoolBytes: this.spool.bytesFrom(stats.nextSeq) };
    });
    const notReady = this.target.notReadyReasons();
    return {
      version: VERSION,
      instance: { id: this.instanceId, host: this.config.host },
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      notReady,
      problems: healthProblems({ notReady, sinks }),
      process: processStats(),
      log: { events: this.logger.eventCounts() },
      ingest: {
        ...this.ingestCounts(),
        sinkAckWaiting: this.target.sinkAckWaiting,
        ...this.certificateStats(),
        ...(this.zmq ? { zmq: this.zmq.stats() } : {}),
      },
      spool: { ...spool, maxBytes: this.config.spool.maxBytes },
      sinks,
      discovery: { interfaces: advertiser?.interfaces.length ?? 0, ...(advertiser?.name === undefined ? {} : { name: advertiser.name }) },
      heartbeat: this.heartbeat.stats(),
      history: this.history.stats(),
    };
  }

  /** Graceful stop: refuse new work, finish what is in flight, let sinks drain until the deadline, persist cursors. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeoutMs;
    this.logger.info('daemon.stopping', { timeoutMs: this.config.shutdownTimeoutMs });
    // Clients stop choosing this instance before it stops answering them (goodbye packets).
    await this.advertiser?.stop();
    // The last beat says so; appended now, it is delivered while the sinks drain.
    await this.heartbeat.stop();
    this.history.stop();
    await this.ganglia?.stop();
    this.target.stopping = true;
    const servers = this.opsServer ? [this.server, this.opsServer] : [this.server];
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    // ZeroMQ stops reading at once; what it holds is stored (and answered) within the same half.
    const zmqStopped = this.zmq?.stop(Date.now() + this.config.shutdownTimeoutMs / 2);
    const threadsStopped = this.threads?.stop(this.config.shutdownTimeoutMs / 2);
    for (const server of servers) server.closeIdleConnections();
    // Requests in flight get half the time to finish; slow clients after that are cut off.
    const cutOff = setTimeout(() => servers.forEach((server) => server.closeAllConnections()), this.config.shutdownTimeoutMs / 2);
    await closed;
    await zmqStopped;
    await threadsStopped;
    clearTimeout(cutOff);
    // Each thread drains until caught up with the spool or the deadline, saves its cursor and closes its sink.
    await Promise.all(this.deliveries.map((delivery) => delivery.stop(deadline)));
    await this.spool.close();
    await this.lock.release();
    const stats = this.stats();
    this.logger.info('daemon.stopped', { spooledRecords: stats.spool.nextSeq, sinks: stats.sinks.map((s) => ({ sink: s.sink, lagRecords: s.lagRecords })) });
  }
}

/** `HOST:PORT` or `[V6]:PORT` (checked by the config loader) → listen options. */
function opsAddress(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(listen.slice(colon + 1)) };
}
