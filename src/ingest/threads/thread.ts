// An ingest thread (http.threads > 1): the daemon's own HTTP server (createIngestServer, every route,
// auth, TLS, access and bounds, from the daemon's config with this thread's share of the bounds)
// listening on the events port beside the main thread's (SO_REUSEPORT). Its target stores nothing:
// it hands each request's encoded records to the main thread's real target (the one spool writer,
// the ack=sink waiters) and answers with what that returns, so a 202 still means "durably appended"
// and ack=sink answers are exactly the main thread's. The operations endpoints are the main thread's
// too (forwarded: the numbers are the whole daemon's). README.md beside this file says why.
import { parentPort, workerData } from 'node:worker_threads';
import type { Server as HttpsServer } from 'node:https';
import type { ListenOptions } from 'node:net';
import { listen } from '../../daemon/listen';
import { RequestError } from '../../errors';
import { encodeEnvelopes } from '../../envelope/codec-binary';
import type { Envelope } from '../../envelope/envelope';
import { createLogger, leastSevere } from '../../ops/log';
import type { RangePositions } from '../../sinks/waiters';
import { AcceptedCounter } from '../accepted';
import { busy, REQUEST_BYTES } from '../budget';
import { OPS_MAX_CONNECTIONS } from '../connections';
import type { OpsEndpoints } from '../context';
import { RefusalCounter } from '../refusals';
import { createIngestServer, ingestLoad } from '../server';
import type { AcceptOptions, AckMode, IngestTarget } from '../target';
import { reloadTls, tlsEnabled } from '../tls';
import { type FromThread, fromWire, Outbox, type IngestThreadInit, type OpsQuestion, positionsFromWire, REPORT_MS, type ThreadReport, type ToThread, toWire } from './protocol';

/** From this size a request's records are transferred to the main thread rather than copied. */
const TRANSFER_BYTES = 64 * 1024;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onStored?: () => void;
  /** Gives back what the request holds of the thread's bounds (HandOff's bytes, a waiting question) once the main thread answered. */
  release?: () => void;
}

/**
 * The bytes this thread handed to the main thread that it has not yet stored or refused, within the
 * thread's share of http.maxBufferedBytes. The memory budget alone does not bound them: a request's
 * share is given back when its client leaves (budget.ts), while its records still wait in the main
 * thread's message queue or spool append. A client that sends and hangs up at once, again and again,
 * would otherwise pile up records there for as long as the main thread is busier than this one.
 * Past the limit a request is answered 503 INGEST_BUSY, as past the budget; a request alone is
 * always let through, as by the budget. Clients that wait for their answers hit the budget first
 * (it charges a request more than its records' bytes).
 */
class HandOff {
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** The release of `bytes` taken, or undefined if they would pass the limit (nothing taken then). */
  take(bytes: number): (() => void) | undefined {
    if (this.held > 0 && this.held + bytes > this.maxBytes) return undefined;
    this.held += bytes;
    let taken = bytes;
    return () => {
      this.held -= taken;
      taken = 0;
    };
  }
}

const opsBusy = (): RequestError =>
  new RequestError(503, 'OPS_BUSY', `${OPS_MAX_CONNECTIONS} questions to the operations endpoints are waiting for the main thread already; retry later`, { 'retry-after': '1' });

/**
 * The records' bytes one after the other, in a buffer of their own. A small Buffer is a view into
 * Node's shared 8 KiB pool, and a message clones the whole ArrayBuffer under a view: the main thread
 * would be sent, and hold until stored, 8 KiB per small request rather than its bytes.
 */
function joined(records: Buffer[]): Buffer {
  const first = records[0];
  if (records.length === 1 && first !== undefined && first.byteLength === first.buffer.byteLength) return first;
  let total = 0;
  for (const record of records) total += record.length;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const record of records) {
    out.set(record, at);
    at += record.length;
  }
  return out;
}

export function runIngestThread(): void {
  const init = workerData as IngestThreadInit;
  const port = parentPort!;
  const outbox = new Outbox<FromThread>(port);
  const post = (message: FromThread) => outbox.send(message);
  // Lines cross to the main thread's logger, which counts warnings and errors whatever its level.
  const logger = createLogger(leastSevere(init.config.log.level, 'warn'), {}, (line) => post({ type: 'log', line }));
  let serial = 0;
  const pending = new Map<number, Pending>();
  const ask = (id: number, entry: Pending) => pending.set(id, entry);
  let notReady = init.notReady;
  const handOff = new HandOff(init.config.http.maxBufferedBytes);

  const target: IngestTarget = {
    accept(envelopes: Envelope[], ack: AckMode, options: AcceptOptions = {}): Promise<RangePositions | void> {
      const records = options.records ?? encodeEnvelopes(envelopes);
      const lengths = new Array<number>(records.length);
      for (let i = 0; i < records.length; i++) lengths[i] = records[i]!.length;
      // One run of bytes in a buffer of its own (joined): copied by the message when small (cheaper
      // than a transfer), transferred when large and made here (a record of the route's own stays).
      const bytes = joined(records);
      const release = handOff.take(REQUEST_BYTES + bytes.byteLength);
      if (release === undefined) return Promise.reject(busy());
      const transfer = bytes !== records[0] && bytes.byteLength >= TRANSFER_BYTES ? [bytes.buffer as ArrayBuffer] : undefined;
      const id = ++serial;
      const topics = ack === 'sink' ? [...new Set(envelopes.map((envelope) => envelope.topic))] : [];
      const { signal } = options;
      return new Promise((resolve, reject) => {
        ask(id, { resolve: resolve as (value: unknown) => void, reject, release, ...(options.onStored ? { onStored: options.onStored } : {}) });
        const accept: FromThread = { type: 'accept', id, bytes, lengths, ack, topics, positions: options.positions === true, stored: options.onStored !== undefined };
        if (transfer === undefined) outbox.queue(accept);
        else outbox.send(accept, transfer);
        if (signal === undefined) return;
        const onAbort = () => outbox.queue({ type: 'abort', id });
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    notReadyReasons: () => notReady,
  };

  // A question costs this thread little and the main thread a refresh and a view of everything, and
  // it stays asked when its client leaves: at most as many wait as the operations listener serves.
  let opsWaiting = 0;
  const forward = (question: OpsQuestion) => {
    if (opsWaiting >= OPS_MAX_CONNECTIONS) return Promise.reject(opsBusy());
    opsWaiting++;
    const id = ++serial;
    return new Promise<unknown>((resolve, reject) => {
      ask(id, { resolve, reject, release: () => opsWaiting-- });
      post({ type: 'ops', id, question });
    });
  };
  const ops: OpsEndpoints = {
    stats: () => forward('stats'),
    metrics: () => forward('metrics') as Promise<string>,
    problems: () => forward('problems') as Promise<string[]>,
  };

  const refusals = new RefusalCounter();
  const accepted = new AcceptedCounter();
  const server = createIngestServer({ config: init.config, target, logger, refusals, accepted, ops, role: init.eventsOnly ? 'events' : 'all' });
  const report = (): ThreadReport => ({ accepted: accepted.snapshot(), refused: refusals.snapshot(), load: ingestLoad(server) });
  const reporting = setInterval(() => post({ type: 'report', report: report() }), REPORT_MS);
  reporting.unref();

  port.on('message', receive);

  function receive(message: ToThread): void {
    switch (message.type) {
      case 'batch':
        return message.messages.forEach(receive);
      case 'stored': {
        const entry = pending.get(message.id);
        entry?.release?.();
        return entry?.onStored?.();
      }
      case 'accepted':
      case 'answer': {
        const entry = pending.get(message.id);
        pending.delete(message.id);
        entry?.release?.();
        if (message.type === 'answer') return entry?.resolve(message.value);
        return entry?.resolve(message.positions === undefined ? undefined : positionsFromWire(message.positions));
      }
      case 'refused': {
        const entry = pending.get(message.id);
        pending.delete(message.id);
        entry?.release?.();
        return entry?.reject(fromWire(message.error));
      }
      case 'notReady':
        notReady = message.reasons;
        return;
      case 'report':
        return post({ type: 'report', report: report() });
      case 'reload':
        if (tlsEnabled(init.config.tls)) reloadTls(server as HttpsServer, init.config.tls, logger);
        return;
      case 'stop':
        return stop(message.cutOffMs);
    }
  }

  // As the main thread's server stops (daemon.ts shutdown): no new connection, idle ones closed,
  // requests in flight finish (their answers wait on the main thread, which still stores), the rest
  // cut off after `cutOffMs`.
  function stop(cutOffMs: number): void {
    clearInterval(reporting);
    const cutOff = setTimeout(() => server.closeAllConnections(), cutOffMs);
    server.close(() => {
      clearTimeout(cutOff);
      post({ type: 'stopped', report: report() });
      port.close();
    });
    server.closeIdleConnections();
  }

  // reusePort: Node ≥ 22.12 (the types here may not know it yet). The main thread holds the port already.
  listen(server, { ...init.listen, reusePort: true } as ListenOptions).then(
    () => post({ type: 'listening' }),
    (error: unknown) => post({ type: 'failed', error: toWire(error) }),
  );
}
