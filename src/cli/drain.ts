// `sparkngin drain --spool DIR --to URL|--kafka BROKERS`: delivers what another instance's spool
// still holds undelivered (a dead host's disk mounted here, a copy of it, a client's spill).
//
// The drain is one more sink of that spool, run by the daemon's own delivery loop (Dispatcher: the
// same batching, retries, dead letters and cursor rules as a running instance):
// - it starts at the lowest cursor of the instance's sinks (everything below was delivered by all
//   of them), or at `--sink NAME`'s, and keeps its own durable cursor `cursors/drain.json` in the
//   drained spool, moved only after the destination acknowledged. Run again, it starts there and
//   sends nothing twice, except the batch in flight when a run was interrupted;
// - every event keeps its id (UUIDv7, Kafka header `sparkngin-id`), so the copies such a batch
//   makes, or a later restart of the old instance on that disk, are recognisable downstream;
// - it takes the data dir's lock for its whole run (src/daemon/data-dir-lock.ts): a spool a live
//   daemon holds is refused, and no daemon can start on it while the drain runs;
// - opening the spool runs the daemon's recovery (a torn tail is cut, damage set aside and counted)
//   and the spool deletes the segments the drain has passed, as it would for a running instance.
// `--kafka` produces exactly what the dead instance's Kafka sink would have (same records, headers,
// receive times). `--to URL` sends each event as an NW1 envelope to another instance, keeping its id,
// type, key, client time, headers, Kafka partition and payload; that instance sets receive time, address and host.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SparknginClient } from '../client/client';
import { EventRefusedError, InvalidEventError } from '../client/errors';
import type { AckMode } from '../client/options';
import { loadConfig } from '../config/load';
import { DataDirInUseError, lockDataDir } from '../daemon/data-dir-lock';
import type { Envelope } from '../envelope/envelope';
import { SparknginError } from '../errors';
import { createLogger, type Logger } from '../ops/log';
import { DeadLetterFile } from '../sinks/dead-letter';
import { Dispatcher } from '../sinks/dispatcher';
import { KafkaSink } from '../sinks/kafka/sink';
import { topicFilter } from '../sinks/route';
import type { DeliveryConfig, FailureClass, Sink, SinkHealth } from '../sinks/sink';
import { CursorStore } from '../spool/cursor-store';
import { locateSpool } from '../spool/inspect';
import { backlog, openQueue } from '../spool/queue';
import { type Command, parseOptions, UsageError } from './command';
import { progressLine } from './progress';

const READER = 'drain';

const USAGE = `Usage: sparkngin drain --spool DIR (--to URL | --kafka BROKERS) [options]

Delivers everything the spool in DIR (a data dir, or its spool/ folder) holds and its sinks have not
delivered: the spool of an instance whose host died, its disk mounted or copied here. Refused while
a running sparkngin holds DIR. Exit 0 when everything was delivered, 1 otherwise.

  --to URL           send each event to this instance (repeatable, or comma-separated: failover);
                     id, type, key, client time, headers, partition and payload kept
  --kafka BROKERS    produce to Kafka as the instance's Kafka sink would have (host:port, comma-separated)
  --config FILE      sparkngin.yaml for the Kafka sink's other settings (topicMap, topicPrefix, …)
  --sink NAME        start at this sink's cursor (default: the lowest cursor of the spool's sinks)
  --ack spool|sink   with --to: acknowledged once on the instance's disk (spool, default) or in its sinks
  --token T          with --to: bearer token; default $SPARKNGIN_TOKEN

Run twice, it is harmless: it keeps its own cursor (cursors/drain.json in the drained spool) and
starts there. Each event keeps its id (Kafka header sparkngin-id), so the few copies an interrupted
run can make are recognisable. Events a destination refuses for good are parked in
DIR/dead-letter/drain.ndjson. On a terminal, a progress line shows on standard error.
`;

export const drainCommand: Command = {
  name: 'drain',
  summary: [['drain --spool DIR (--to URL|--kafka BROKERS)', "deliver what a dead instance's spool holds undelivered"]],
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(
      args,
      {
        spool: { type: 'string' },
        to: { type: 'string', multiple: true },
        kafka: { type: 'string' },
        config: { type: 'string' },
        sink: { type: 'string' },
        ack: { type: 'string' },
        token: { type: 'string' },
      },
      USAGE,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, USAGE);
    if (values.spool === undefined) throw new UsageError('drain needs --spool DIR', USAGE);
    if ((values.to === undefined) === (values.kafka === undefined)) throw new UsageError('drain needs one of --to URL or --kafka BROKERS', USAGE);
    const ack = (values.ack ?? 'spool') as AckMode;
    if (ack !== 'spool' && ack !== 'sink') throw new UsageError(`--ack must be spool or sink, got '${ack}'`, USAGE);

    const location = await locateSpool(values.spool);
    if (location === undefined) throw new SparknginError('SPOOL_NOT_FOUND', `no spool in ${values.spool} (expected ${values.spool}/spool/segments or ${values.spool}/segments)`);
    const logger = createLogger('warn');
    const lock = await lockDataDir(location.dataDir, { logger }).catch((error: unknown) => {
      if (!(error instanceof DataDirInUseError)) throw error;
      throw new SparknginError('DATA_DIR_IN_USE', `refusing to drain ${location.spoolDir}: ${error.message.replace(/; stop it.*$/, '')}. A live instance delivers its own spool; drain is for one that is gone`);
    });
    try {
      await seedCursor(location.spoolDir, values.sink);
      const target = values.kafka !== undefined ? kafkaTarget(values.kafka, values.config, logger) : relayTarget(values.to!, ack, values.token, logger);
      return await drain(location.spoolDir, location.dataDir, target, logger);
    } finally {
      await lock.release();
    }
  },
};

/** Without a cursor of its own, the drain starts where the slowest of the instance's sinks stands (or `--sink`'s). */
async function seedCursor(spoolDir: string, sink: string | undefined): Promise<void> {
  const cursors = new CursorStore(join(spoolDir, 'cursors'));
  await cursors.init();
  if ((await cursors.load(READER)).kind !== 'absent') return;
  const names = sink !== undefined ? [`${encodeURIComponent(sink)}.json`] : (await readdir(cursors.dir)).filter((name) => name.endsWith('.json'));
  let start: number | undefined;
  for (const name of names) {
    const loaded = await cursors.load(decodeURIComponent(name.slice(0, -'.json'.length)));
    if (loaded.kind === 'absent' && sink !== undefined) throw new SparknginError('CURSOR_NOT_FOUND', `the spool has no cursor of a sink '${sink}' (${cursors.path(sink)})`);
    // A sink whose cursor cannot be read would get everything again: so does the drain.
    const seq = loaded.kind === 'cursor' ? loaded.cursor.nextSeq : 0;
    start = Math.min(start ?? seq, seq);
  }
  // No sink cursor at all: no sink ever delivered anything, so everything is undelivered (from the oldest record).
  if (start !== undefined) await cursors.save(READER, { nextSeq: start });
}

/** Where the events go: the sink that takes them, its delivery settings, and its name for the messages. */
interface Target {
  sink: Sink;
  delivery: DeliveryConfig;
  name: string;
}

function kafkaTarget(brokers: string, file: string | undefined, logger: Logger): Target {
  const config = loadConfig({ ...(file === undefined ? {} : { file }), env: process.env, overrides: new Map([['sinks.kafka.brokers', brokers]]) });
  const sink = new KafkaSink(config.sinks.kafka, logger);
  return { sink, delivery: config.sinks.kafka, name: `Kafka ${brokers}` };
}

/** A sink that sends each event on to another instance through the client library, its id kept. */
class RelaySink implements Sink {
  readonly name = 'relay';

  constructor(
    private readonly client: SparknginClient,
    private readonly ack: AckMode,
  ) {}

  async start(): Promise<void> {
    await this.client.ready();
  }

  async send(batch: Envelope[]): Promise<void> {
    const sent = await Promise.allSettled(batch.map((envelope) => this.client.sendEnvelope(envelope, { ack: this.ack })));
    const failure = sent.find((result) => result.status === 'rejected');
    // Acknowledged ones go again with the retry: same ids, recognisable copies.
    if (failure !== undefined) throw failure.reason;
  }

  classify(error: unknown): FailureClass {
    return error instanceof EventRefusedError || error instanceof InvalidEventError ? 'permanent' : 'retriable';
  }

  async stop(): Promise<void> {
    await this.client.close();
  }

  health(): SinkHealth {
    const up = this.client.stats().instances.some((instance) => instance.state === 'up');
    return up ? { state: 'up' } : { state: 'down', detail: 'no instance answers' };
  }
}

function relayTarget(urls: string[], ack: AckMode, token: string | undefined, logger: Logger): Target {
  const list = urls.flatMap((url) => url.split(','));
  // An event not acknowledged within 30 s fails its batch, which the delivery loop retries with backoff (and reports).
  const client = new SparknginClient({ urls: list, ack, deliveryTimeoutMs: 30_000, ...(token === undefined ? {} : { token }), logger });
  const delivery: DeliveryConfig = { topics: ['*'], batch: { maxRecords: 5000, maxBytes: 4 * 1024 * 1024, lingerMs: 0 }, retry: { initialMs: 200, maxMs: 5000, factor: 2, jitter: 0.2 } };
  return { sink: new RelaySink(client, ack), delivery, name: list.join(', ') };
}

async function drain(spoolDir: string, dataDir: string, target: Target, logger: Logger): Promise<number> {
  const { sink, delivery } = target;
  const queue = await openQueue(spoolDir, READER, { maxBytes: Number.MAX_SAFE_INTEGER, logger });
  const { spool, reader } = queue;
  const firstSeq = reader.nextSeq;
  const total = backlog(queue);
  const deadLetters = new DeadLetterFile(join(dataDir, 'dead-letter'), READER);
  const dispatcher = new Dispatcher(sink, reader, delivery, topicFilter(delivery.topics), deadLetters, logger);
  const progress = progressLine(`draining to ${target.name}`);
  let interrupted = false;
  const onSignal = () => (interrupted = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await sink.start();
    dispatcher.start();
    const end = spool.committedSeq;
    // Done when everything up to the end is delivered, or read and nothing of it is left in hand
    // (records lost to damage at the very end are counted, never delivered).
    const done = () => reader.nextSeq >= end || (reader.readPosition >= end && dispatcher.stats().state === 'idle');
    while (!done() && !interrupted) {
      const stats = dispatcher.stats();
      const note = stats.state === 'retrying' ? `retrying: ${stats.lastError ?? ''}` : `${stats.deliveredRecords} delivered`;
      progress?.update(reader.nextSeq - firstSeq, total, note);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await dispatcher.stop(Date.now() + 5000, () => true);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress?.update(reader.nextSeq - firstSeq, total);
    progress?.end();
    await sink.stop().catch(() => undefined);
    // Let go of what was drained now, rather than at the next maintenance pass that never comes.
    await spool.maintain();
    await spool.close();
  }
  const stats = dispatcher.stats();
  const lost = spool.stats().lostRecords;
  const left = Math.max(0, spool.committedSeq - reader.nextSeq);
  const range = reader.nextSeq > firstSeq ? ` (spool records ${firstSeq}..${reader.nextSeq - 1})` : '';
  const lines = [`sparkngin drain: ${stats.deliveredRecords} events delivered to ${target.name}${range}; ${left} left undelivered`];
  if (stats.deadLetteredRecords > 0) lines.push(`${stats.deadLetteredRecords} refused for good, parked in ${deadLetters.path}`);
  if (lost > 0) lines.push(`${lost} records were lost to damage in the spool (see the error log lines)`);
  if (stats.undecodableRecords > 0) lines.push(`${stats.undecodableRecords} records could not be decoded`);
  if (interrupted) lines.push('interrupted: run drain again to go on from its cursor');
  lines.push(`its cursor is ${join(spoolDir, 'cursors', `${READER}.json`)}: running drain again sends only what is left`);
  process.stderr.write(`${lines.join('\n')}\n`);
  return left === 0 && stats.deadLetteredRecords === 0 && lost === 0 && stats.undecodableRecords === 0 ? 0 : 1;
}

