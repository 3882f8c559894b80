// The main thread's side of the ingest threads (http.threads > 1): starts them on the events port,
// stores what they hand over through the daemon's one target (the spool writer and the ack=sink
// waiters), answers their operations questions with the daemon's own endpoints, and sums their
// counters into its numbers. A thread that ends while the daemon is not stopping is fatal (onDied):
// its share of the port would otherwise go unserved while the kernel still sends it connections.
import { createServer, type ListenOptions, type Server } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Config } from '../../config/defaults';
import { listen } from '../../daemon/listen';
import { ownScript } from '../../delivery/delivery-thread';
import { addHistograms } from '../../ops/histogram';
import { type Logger, relayLogLine } from '../../ops/log';
import type { RangePositions } from '../../sinks/waiters';
import type { AcceptedStats } from '../accepted';
import { connectionLimit, OPS_MAX_CONNECTIONS } from '../connections';
import type { OpsEndpoints } from '../context';
import type { RefusalCount } from '../refusals';
import type { IngestLoad } from '../server';
import type { AcceptOptions, AckMode } from '../target';
import { clientClosed } from '../accept';
import { threadConfig } from './config';
import { type FromThread, fromWire, INGEST_ROLE, type IngestThreadInit, Outbox, positionsToWire, type ThreadReport, type ToThread, toWire } from './protocol';

/** What the main thread stores the threads' records with: the daemon's SpoolIngestTarget. */
export interface RecordsTarget {
  acceptRecords(records: Buffer[], topics: ReadonlySet<string>, ack: AckMode, options: AcceptOptions): Promise<RangePositions | undefined>;
  notReadyReasons(): string[];
}

/** The ingest's counters and load, as /stats shows them (daemon.ts DaemonStats['ingest'], in part). */
export type IngestCounts = AcceptedStats & { refused: RefusalCount[] } & IngestLoad & { threads?: ThreadCounts[] };

/** One thread's part (`0` the main thread): how evenly the kernel spreads the connections. */
export interface ThreadCounts {
  thread: string;
  acceptedRequests: number;
  connections: number;
}

export interface IngestThreadsOptions {
  /** The daemon's config (not a thread's share): http.threads says how many threads serve in all, the main one included. */
  config: Config;
  /** The port the main thread listens on (with reusePort). */
  listen: { host: string; port: number };
  eventsOnly: boolean;
  target: RecordsTarget;
  ops: OpsEndpoints;
  logger: Logger;
  /** A thread ended while the daemon was not stopping. */
  onDied(error: unknown): void;
  /** The script file the threads run: by default this very bundle (or, in the single executable, its copy of it). */
  script?: string;
}

/** How long a refresh of the numbers waits for a thread's report before it uses the one before. */
const REFRESH_WAIT_MS = 1_000;
/** How often the threads are told whether the daemon is ready (/ready on a thread answers from it). */
const NOT_READY_EVERY_MS = 250;

interface Thread {
  worker: Worker;
  outbox: Outbox<ToThread>;
  report: ThreadReport | undefined;
  /** ack=sink requests waiting, to stop waiting for when their client leaves. */
  waiting: Map<number, AbortController>;
  reported: Array<() => void>;
  exited: Promise<void>;
}

/**
 * The config the main thread's own server takes: with http.threads > 1 its share of the bounds
 * (config.ts), computed from the connection limit after the descriptor limit lowered it, once.
 */
export function servingConfig(config: Config, logger: Logger, eventsOnly: boolean): Config {
  if (config.http.threads === 1) return config;
  return threadConfig(config, connectionLimit(config.http.maxConnections, logger, eventsOnly ? OPS_MAX_CONNECTIONS : 0));
}

/**
 * Listens for the main thread with SO_REUSEPORT when several threads serve. SO_REUSEPORT would also
 * let a second daemon of the same user bind the port and silently take a share of its connections
 * (or this one join a port another holds): a port given (not 0) is first bound plainly for a moment,
 * which fails with EADDRINUSE if anyone holds it.
 */
export async function listenShared(server: Server, config: Config): Promise<void> {
  if (config.http.threads === 1) return listen(server, config.listen);
  if (config.listen.port !== 0) {
    const probe = createServer();
    await listen(probe, config.listen);
    await new Promise((resolve) => probe.close(resolve));
  }
  return listen(server, { ...config.listen, reusePort: true } as ListenOptions);
}

export class IngestThreads {
  private stopping = false;
  private readonly timer: NodeJS.Timeout;
  /** The refresh out now, and the one every question asked meanwhile waits for (refresh). */
  private round: Promise<void> | undefined;
  private nextRound: Promise<void> | undefined;

  private constructor(
    private readonly options: IngestThreadsOptions,
    private readonly threads: Thread[],
    /** The reasons the threads were last told (JSON), to tell them only a change. */
    private notReady: string,
  ) {
    this.timer = setInterval(() => this.tellReadiness(), NOT_READY_EVERY_MS);
    this.timer.unref();
  }

  /** Starts http.threads - 1 threads, each serving with its share (servingConfig), and resolves once all listen. */
  static async start(options: IngestThreadsOptions, served: Config): Promise<IngestThreads> {
    const init: IngestThreadInit = { role: INGEST_ROLE, config: served, listen: options.listen, eventsOnly: options.eventsOnly, notReady: options.target.notReadyReasons() };
    const script = ownScript(options.script);
    const listening: Array<Promise<void>> = [];
    const threads: Thread[] = [];
    let pool: IngestThreads | undefined;
    for (let index = 1; index < options.config.http.threads; index++) {
      const worker = new Worker(script.code, { eval: script.eval, workerData: init, name: `sparkngin ingest ${index}` });
      let crash: unknown;
      let up = false;
      const thread: Thread = { worker, outbox: new Outbox(worker), report: undefined, waiting: new Map(), reported: [], exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
      threads.push(thread);
      listening.push(
        new Promise((resolve, reject) => {
          worker.on('message', (message: FromThread) => {
            if (message.type === 'listening') {
              up = true;
              resolve();
            } else if (message.type === 'failed') reject(fromWire(message.error));
            // The pool is made in this same turn, before a message can be dispatched.
            else pool!.onMessage(thread, message);
          });
          worker.on('error', (error) => (crash = error));
          worker.on('exit', (code) => {
            // Its clients' connections ended with it: nobody is left to tell what their sinks did.
            for (const controller of thread.waiting.values()) controller.abort(clientClosed());
            const error = crash ?? new Error(`ingest thread ${index} ended (exit code ${code})`);
            if (!up) reject(error);
            else if (!pool?.stopping) options.onDied(error);
          });
        }),
      );
    }
    pool = new IngestThreads(options, threads, JSON.stringify(init.notReady));
    try {
      await Promise.all(listening);
    } catch (error) {
      await pool.terminate();
      throw error;
    }
    return pool;
  }

  /**
   * Asks every thread for its numbers now and waits (a moment at most) for them: /stats after an answer
   * counts it. One round at a time: a question asked while one is out shares the round after it (a
   * report asked for before the question might miss an answer given just before it), so that clients
   * asking through the threads, which cost a thread little, cannot make every thread report per question.
   */
  refresh(): Promise<void> {
    if (this.round === undefined) return (this.round = this.askAll().finally(() => (this.round = undefined)));
    return (this.nextRound ??= this.round.then(() => {
      this.nextRound = undefined;
      return this.refresh();
    }));
  }

  private askAll(): Promise<void> {
    return Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, REFRESH_WAIT_MS);
            thread.reported.push(() => {
              clearTimeout(timer);
              resolve();
            });
            this.post(thread, { type: 'report' });
          }),
      ),
    ).then(() => undefined);
  }

  /** The main thread's counts with every thread's (as last reported) added. */
  withThreads(own: IngestCounts): IngestCounts {
    let sum = own;
    const threads: ThreadCounts[] = [{ thread: '0', acceptedRequests: own.accepted.requests, connections: own.connections }];
    for (const [index, { report }] of this.threads.entries()) {
      if (report === undefined) continue;
      threads.push({ thread: String(index + 1), acceptedRequests: report.accepted.accepted.requests, connections: report.load.connections });
      sum = {
        accepted: { requests: sum.accepted.requests + report.accepted.accepted.requests, events: sum.accepted.events + report.accepted.accepted.events },
        requestSeconds: addHistograms(sum.requestSeconds, report.accepted.requestSeconds),
        eventsPerRequest: addHistograms(sum.eventsPerRequest, report.accepted.eventsPerRequest),
        refused: addRefusals(sum.refused, report.refused),
        connections: sum.connections + report.load.connections,
        requestsInFlight: sum.requestsInFlight + report.load.requestsInFlight,
        bufferedBytes: sum.bufferedBytes + report.load.bufferedBytes,
      };
    }
    return { ...sum, threads };
  }

  /** SIGHUP: each thread reads the TLS files again, as the main thread does. */
  reload(): void {
    for (const thread of this.threads) this.post(thread, { type: 'reload' });
  }

  /** Graceful: no new connections, requests in flight finish (cut off after `cutOffMs`); resolves when every thread ended. */
  async stop(cutOffMs: number): Promise<void> {
    this.stopping = true;
    this.tellReadiness();
    for (const thread of this.threads) this.post(thread, { type: 'stop', cutOffMs });
    const backstop = setTimeout(() => void this.terminate(), cutOffMs + 2_000);
    await Promise.all(this.threads.map((thread) => thread.exited));
    clearTimeout(backstop);
    clearInterval(this.timer);
  }

  /** Ends every thread at once (a failed start, or a stop past its deadline). */
  async terminate(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private post(thread: Thread, message: ToThread): void {
    thread.outbox.send(message);
  }

  /** The answers to requests: batched per turn (protocol.ts Outbox). */
  private answer(thread: Thread, message: ToThread): void {
    thread.outbox.queue(message);
  }

  private tellReadiness(): void {
    const reasons = this.options.target.notReadyReasons();
    const text = JSON.stringify(reasons);
    if (text === this.notReady) return;
    this.notReady = text;
    for (const thread of this.threads) this.post(thread, { type: 'notReady', reasons });
  }

  private onMessage(thread: Thread, message: FromThread): void {
    switch (message.type) {
      case 'batch':
        for (const each of message.messages) this.onMessage(thread, each);
        return;
      case 'accept':
        return this.accept(thread, message);
      case 'abort':
        return void thread.waiting.get(message.id)?.abort(clientClosed());
      case 'ops': {
        const { id, question } = message;
        const { ops } = this.options;
        const asked = question === 'stats' ? ops.stats() : question === 'metrics' ? ops.metrics() : (ops.problems?.() ?? []);
        return void Promise.resolve(asked).then(
          (value) => this.answer(thread, { type: 'answer', id, value }),
          (error: unknown) => this.answer(thread, { type: 'refused', id, error: toWire(error) }),
        );
      }
      case 'report':
      case 'stopped':
        thread.report = message.report;
        for (const done of thread.reported.splice(0)) done();
        return;
      case 'log':
        return relayLogLine(this.options.logger, message.line);
      default:
        return;
    }
  }

  private accept(thread: Thread, message: Extract<FromThread, { type: 'accept' }>): void {
    const { id, bytes, lengths, ack } = message;
    const whole = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const records = new Array<Buffer>(lengths.length);
    let at = 0;
    for (let i = 0; i < lengths.length; i++) {
      records[i] = whole.subarray(at, at + lengths[i]!);
      at += lengths[i]!;
    }
    const options: AcceptOptions = {};
    if (ack === 'sink') {
      const controller = new AbortController();
      thread.waiting.set(id, controller);
      options.signal = controller.signal;
      options.positions = message.positions;
      if (message.stored) options.onStored = () => this.answer(thread, { type: 'stored', id });
    }
    this.options.target
      .acceptRecords(records, new Set(message.topics), ack, options)
      .then(
        (positions) => this.answer(thread, { type: 'accepted', id, ...(positions === undefined ? {} : { positions: positionsToWire(positions) }) }),
        (error: unknown) => this.answer(thread, { type: 'refused', id, error: toWire(error) }),
      )
      .finally(() => thread.waiting.delete(id));
  }
}

function addRefusals(a: RefusalCount[], b: RefusalCount[]): RefusalCount[] {
  const sum = new Map(a.map((entry) => [`${entry.status} ${entry.code}`, { ...entry }]));
  for (const entry of b) {
    const key = `${entry.status} ${entry.code}`;
    const found = sum.get(key);
    if (found) found.count += entry.count;
    else sum.set(key, { ...entry });
  }
  return [...sum.values()];
}
