// The daemon: spool, sinks with their dispatchers, and the HTTP ingest, started in that order (so
// that nothing is accepted before it can be stored) and stopped in the reverse one.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config/defaults';
import { SparknginError } from '../errors';
import { type RefusalCount, RefusalCounter } from '../ingest/refusals';
import { createIngestServer, ingestLoad, type IngestLoad } from '../ingest/server';
import type { Logger } from '../ops/log';
import { renderPrometheus } from '../ops/prometheus';
import { DeadLetterFile } from '../sinks/dead-letter';
import { Dispatcher, type DispatcherStats } from '../sinks/dispatcher';
import { createSinks } from '../sinks/registry';
import { topicFilter } from '../sinks/route';
import { Spool, type SpoolStats } from '../spool/spool';
import { VERSION } from '../version';
import { type DataDirLock, lockDataDir } from './data-dir-lock';
import { SpoolIngestTarget } from './ingest-target';
import { listen } from './listen';

export interface DaemonStats {
  version: string;
  uptimeSeconds: number;
  /** Requests the ingest refused since start, by status and code; what it holds now; ack=sink requests waiting. */
  ingest: { refused: RefusalCount[] } & IngestLoad & { sinkAckWaiting: number };
  spool: SpoolStats;
  sinks: Array<DispatcherStats & { lagRecords: number }>;
}

/** The ingest port cannot be had (in use, or below 1024 without the capability). */
export class ListenError extends SparknginError {
  constructor(listen: Config['listen'], cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'the address is in use' : cause.code === 'EACCES' ? 'permission denied' : cause.message;
    super('LISTEN_FAILED', `cannot listen on ${listen.host}:${listen.port}: ${why}`, { cause });
  }
}

export class Daemon {
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly spool: Spool,
    private readonly dispatchers: Dispatcher[],
    private readonly target: SpoolIngestTarget,
    private readonly server: Server,
    private readonly lock: DataDirLock,
    private readonly refusals: RefusalCounter,
  ) {}

  static async start(config: Config, logger: Logger): Promise<Daemon> {
    const lock = await lockDataDir(config.dataDir, { logger });
    let spool: Spool | undefined;
    const dispatchers: Dispatcher[] = [];
    try {
      spool = await Spool.open({ dir: join(config.dataDir, 'spool'), ...config.spool, logger });
      for (const { sink, delivery } of createSinks(config, logger)) {
        await sink.start();
        const reader = await spool.openReader(sink.name);
        const deadLetters = new DeadLetterFile(join(config.dataDir, 'dead-letter'), sink.name);
        const dispatcher = new Dispatcher(sink, reader, delivery, topicFilter(delivery.topics), deadLetters, logger);
        dispatcher.start();
        dispatchers.push(dispatcher);
      }
      const target = new SpoolIngestTarget(spool, dispatchers, { timeoutMs: config.http.sinkAckTimeoutMs, maxWaiting: config.http.maxSinkAckRequests });
      // The ops endpoints read the daemon's stats; the daemon exists once the server listens.
      let daemon: Daemon | undefined;
      const stats = () => daemon!.stats();
      const refusals = new RefusalCounter();
      const server = createIngestServer({ config, target, logger, refusals, ops: { stats, metrics: () => renderPrometheus(stats()) } });
      await listen(server, config.listen).catch((error: NodeJS.ErrnoException) => Promise.reject(new ListenError(config.listen, error)));
      daemon = new Daemon(config, logger, spool, dispatchers, target, server, lock, refusals);
      const { address, port } = daemon.address();
      logger.info('daemon.started', { version: VERSION, address, port, dataDir: config.dataDir, sinks: dispatchers.map((d) => d.sink.name) });
      return daemon;
    } catch (error) {
      await Promise.all(dispatchers.map((dispatcher) => dispatcher.stop(Date.now(), () => true)));
      await spool?.close();
      await lock.release();
      throw error;
    }
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  stats(): DaemonStats {
    const spool = this.spool.stats();
    return {
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      ingest: { refused: this.refusals.snapshot(), ...ingestLoad(this.server), sinkAckWaiting: this.target.sinkAckWaiting },
      spool,
      sinks: this.dispatchers.map((dispatcher) => {
        const stats = dispatcher.stats();
        return { ...stats, lagRecords: Math.max(0, spool.nextSeq - stats.nextSeq) };
      }),
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
    this.target.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests in flight get half the time to finish; slow clients after that are cut off.
    const cutOff = setTimeout(() => this.server.closeAllConnections(), this.config.shutdownTimeoutMs / 2);
    await closed;
    clearTimeout(cutOff);
    const caughtUp = (dispatcher: Dispatcher) => () => dispatcher.stats().nextSeq >= this.spool.stats().nextSeq;
    await Promise.all(this.dispatchers.map((dispatcher) => dispatcher.stop(deadline, caughtUp(dispatcher))));
    await this.spool.close();
    await Promise.all(this.dispatchers.map((dispatcher) => dispatcher.sink.stop().catch(() => undefined)));
    await this.lock.release();
    const stats = this.stats();
    this.logger.info('daemon.stopped', { spooledRecords: stats.spool.nextSeq, sinks: stats.sinks.map((s) => ({ sink: s.sink, lagRecords: s.lagRecords })) });
  }
}
