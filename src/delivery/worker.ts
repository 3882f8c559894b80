// The delivery thread of one sink: the sink itself, its Dispatcher and its SpoolReader, reading the
// spool's files directly through a mirror of the segment list (spool-mirror.ts). It tells the
// ingest thread its progress, dead letters, numbers and log lines (protocol.ts); everything else
// about delivery happens here, off the thread that answers HTTP.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, leastSevere } from '../ops/log';
import { DeadLetterFile } from '../sinks/dead-letter';
import { Dispatcher } from '../sinks/dispatcher';
import { createSink, enabledSinks, sinkRoute } from '../sinks/registry';
import type { Sink } from '../sinks/sink';
import { SpoolReader } from '../spool/reader';
import { type DeliveryInit, type DeliveryStats, errorInfo, type ToDelivery, type ToIngest } from './protocol';
import { SpoolMirror } from './spool-mirror';

/** How often the dead-letter files are checked against deadLetter.maxAgeSeconds. */
const DEAD_LETTER_SWEEP_MS = 60_000;
/**
 * While a backlog is read, the sink's numbers go to the ingest thread at most this often, and
 * always within this long of their last change. Sent with every batch (and again for each state
 * change) they cost a drain ~6 % of the thread's CPU (building them, and cloning them across); the
 * delivered point itself (`progress`) still goes at once with every batch, for the `ack=sink`
 * waiters and retention.
 */
const STATS_EVERY_MS = 100;

export function runDeliveryThread(): void {
  const init = workerData as DeliveryInit;
  const port = parentPort!;
  const post = (message: ToIngest) => port.postMessage(message);
  // Formatted here as the daemon formats every line, and written by the ingest thread's logger,
  // which counts warnings and errors whatever its level: so they cross even below it.
  const logger = createLogger(leastSevere(init.config.log.level, 'warn'), {}, (line) => post({ type: 'log', line }));
  let mirror: SpoolMirror | undefined;
  let reader: SpoolReader | undefined;
  let dispatcher: Dispatcher | undefined;
  let reportPositions = false;
  const deadLetters = new DeadLetterFile(init.deadLetterDir, init.sink, init.config.deadLetter, logger);
  const stats = (): DeliveryStats => ({
    ...dispatcher!.stats(),
    skippedRecords: reader!.skippedRecords,
    cursorSaveFailures: reader!.cursorSaveFailures,
    deadLetterBytes: deadLetters.bytes,
    deadLetterDroppedRecords: deadLetters.droppedRecords,
  });

  // Counters and states change several times per batch: the numbers go at most every
  // STATS_EVERY_MS (with a batch's progress when that is due), one message carrying them all.
  let statsSentAt = -Infinity;
  let statsStale = false;
  let statsQueued = false;
  let statsTimer: NodeJS.Timeout | undefined;
  const currentStats = (): DeliveryStats => {
    statsSentAt = performance.now();
    statsStale = false;
    return stats();
  };
  const sendQueued = () => {
    statsQueued = false;
    statsTimer = undefined;
    if (statsStale) post({ type: 'stats', stats: currentStats() });
  };
  const queueStats = () => {
    statsStale = true;
    if (statsQueued) return;
    statsQueued = true;
    const wait = statsSentAt + STATS_EVERY_MS - performance.now();
    if (wait > 0) statsTimer = setTimeout(sendQueued, wait);
    else setImmediate(sendQueued);
  };
  // A batch that leaves nothing more to read (live traffic, the last of a drain) carries the numbers
  // at once, so that /stats read after an `ack=sink` answer counts that batch; a drain's batches
  // carry them only when due.
  const progress = (nextSeq: number) => {
    if (reader!.caughtUp || performance.now() - statsSentAt >= STATS_EVERY_MS) return post({ type: 'progress', nextSeq, stats: currentStats() });
    post({ type: 'progress', nextSeq });
    queueStats();
  };

  // The sink loads and starts while the ingest thread opens the spool.
  let sink: Sink | undefined;
  const sinkStarted = createSink(init.sink, init.config, logger).then((made) => {
    sink = made;
    return made.start();
  });
  let opened: (open: Extract<ToDelivery, { type: 'open' }>) => void;
  const open = new Promise<Extract<ToDelivery, { type: 'open' }>>((resolve) => (opened = resolve));

  const started = (async () => {
    await sinkStarted;
    await open;
    const { delivery } = enabledSinks(init.config).find((enabled) => enabled.name === init.sink)!;
    // The dead-letter files' limits: checked now and every minute (their sizes also at each park).
    const sweep = () => void deadLetters.sweep().then(queueStats, (error: unknown) => logger.error('dead_letter.sweep_failed', { error }));
    sweep();
    setInterval(sweep, DEAD_LETTER_SWEEP_MS).unref();
    dispatcher = new Dispatcher(sink!, reader!, delivery, sinkRoute(delivery), deadLetters, logger, {
      committed: progress,
      deadLettered: (seq, cause) => post({ type: 'deadLettered', seq, cause }),
      changed: queueStats,
      positioned: (seqs, positions) => post({ type: 'positioned', seqs, positions: [...positions] }),
    });
    dispatcher.reportPositions = reportPositions;
    dispatcher.start();
    post({ type: 'ready', stats: stats() });
  })();
  started.catch((error: unknown) => post({ type: 'startFailed', error: errorInfo(error) }));

  const stop = async (deadline: number) => {
    await started.catch(() => undefined);
    await dispatcher?.stop(deadline, () => reader!.nextSeq >= mirror!.committedSeq);
    await reader?.close();
    await sink?.stop().catch(() => undefined);
    clearTimeout(statsTimer);
    post({ type: 'stopped', ...(dispatcher === undefined ? {} : { stats: stats() }) });
  };

  port.on('message', (message: ToDelivery) => {
    switch (message.type) {
      case 'open':
        mirror = new SpoolMirror(message.spool, init.cursorsDir, post);
        reader = new SpoolReader(mirror, init.sink, message.startSeq, logger);
        return opened(message);
      case 'spool':
        return mirror!.apply(message.event);
      case 'retired':
        return mirror!.retired(message.id, message.done);
      case 'skipTo':
        return reader!.skipTo(message.seq);
      case 'positions':
        reportPositions = message.report;
        if (dispatcher !== undefined) dispatcher.reportPositions = reportPositions;
        return;
      case 'stop':
        return void stop(message.deadline);
    }
  });
}
