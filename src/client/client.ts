// The Sparkngin client: send() → a bounded memory buffer → batches (batch.ts) → at most maxInFlight
// NW1 requests (transport.ts) to the instances up (instances.ts), retried with backoff, failed over,
// and — with a spill — written to local disk (spill.ts) while no instance can take them, then
// delivered from there. Each send() promise settles once: acknowledged per its ack mode, spilled,
// or rejected (the event was refused, or not acknowledged within deliveryTimeoutMs without a spill).
//
// Past 400 lines on purpose: the buffer, the send queue, the retry timers and the spill pumps share
// one set of counters (in flight, outstanding per flush epoch) that flush() and close() wait on;
// split further, each part would need the others' internals.
import { setMaxListeners } from 'node:events';
import type { Envelope } from '../envelope/envelope';
import { FRAME_HEADER, NW1_OVERHEAD } from '../envelope/nw1';
import { backoffMs } from '../sinks/retry';
import { type Delivery, failedWith, rejectAll, resolveAll, type Settle, type Settlement, WaitingEvent } from './app-event';
import { type Batch, Batcher, type BatchOwner, splitBatch } from './batch';
import { discoverUrls } from './endpoints';
import { BufferFullError, ClientClosedError, DeliveryTimeoutError, EventRefusedError, InvalidEventError } from './errors';
import { EventWriter, NO_OPTIONS, type RawSendOptions, type SendOptions } from './event';
import { type Instance, InstancePool, type InstanceStats } from './instances';
import { type AckMode, type ClientOptions, type ClientSettings, resolveOptions } from './options';
import { Spill } from './spill';
import { deliverSpill } from './spill-delivery';
import { post, type Outcome } from './transport';
import { loadClientZeromq } from './transport-zmq';

export interface ClientStats {
  /** Events given to send() and accepted into the buffer. */
  sent: number;
  acked: number;
  spilled: number;
  /** Events rejected (refused, timed out, buffer full, closed). */
  failed: number;
  /** Failed requests that were tried again. */
  retries: number;
  /** Spilled events delivered from the spill (by this process; earlier runs' included). */
  deliveredFromSpill: number;
  bufferedBytes: number;
  inFlight: number;
  queuedBatches: number;
  instances: InstanceStats[];
}

/**
 * The ends of the promise send() is making: `new Promise(capture)` calls capture at once, so that a
 * send() makes no closure of its own per event.
 */
const captured: { resolve: Settle | undefined; reject: ((error: Error) => void) | undefined } = { resolve: undefined, reject: undefined };
function capture(resolve: Settle, reject: (error: Error) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** Least time between two discoveries while no instance found on the LAN answers. */
const REDISCOVER_MS = 10_000;
/** How often queued batches are checked against their deadline while work is outstanding. */
const TICK_MS = 250;

export class SparknginClient {
  readonly settings: ClientSettings;
  private readonly pool: InstancePool;
  private readonly batcher: Batcher;
  private readonly queue: Batch[] = [];
  /** Batches waiting out a backoff, by their timer. */
  private readonly waiting = new Map<NodeJS.Timeout, Batch>();
  /** Aborted at close: requests still in flight then (spill deliveries) are given up, their records stay spilled. */
  private readonly stopping = new AbortController();
  private starting = true;
  /** When discovery last ran (instances found on the LAN, no URL given). */
  private discoveredAt = 0;
  private rediscovering = false;
  private readonly blocked: WaitingEvent[] = [];
  private readonly writer = new EventWriter();
  private spill: Spill | undefined;
  private readonly pumps = new Map<AckMode, Promise<void>>();
  private readonly started: Promise<void>;
  private startError: Error | undefined;
  private inFlight = 0;
  private spilling = 0;
  private bufferedBytes = 0;
  private epoch = 0;
  /** Events not yet settled, per the flush epoch they were sent in. */
  private readonly outstanding = new Map<number, number>();
  private readonly flushes: Array<{ epoch: number; resolve: () => void }> = [];
  private ticker: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private spillWarned = false;
  private readonly counters = { sent: 0, acked: 0, spilled: 0, failed: 0, retries: 0, deliveredFromSpill: 0 };

  constructor(options: ClientOptions = {}) {
    this.settings = resolveOptions(options);
    // One listener per https:// or tcp:// request in flight (transport.ts), up to maxInFlight of them.
    setMaxListeners(this.settings.maxInFlight + 10, this.stopping.signal);
    const { balance, healthIntervalMs, maxInFlight, logger, tls, zmq } = this.settings;
    this.pool = new InstancePool({ balance, healthIntervalMs, maxInFlight, logger, tls, zmq }, this.settings.urls ?? []);
    // http:// requests in flight at close are given up here, one listener for all (https:// and tcp:// ones listen per request).
    this.stopping.signal.addEventListener('abort', () => this.pool.giveUp(), { once: true });
    this.pool.onAvailable(() => this.pump());
    this.batcher = new Batcher(this.settings.batch, this.settings.deliveryTimeoutMs, this.ledger, (batch) => this.enqueue(batch));
    this.started = this.start().then(
      () => {
        this.starting = false;
        this.pump();
      },
      (error: Error) => {
        this.starting = false;
        this.startError = error;
        this.failAll(error);
      },
    );
  }

  /** Resolves once the instances are known and the spill is open; rejects with what kept the client from starting. */
  async ready(): Promise<void> {
    await this.started;
    if (this.startError) throw this.startError;
  }

  private async start(): Promise<void> {
    // A tcp:// instance needs zeromq's native addon: loaded now, so that its absence is said at once.
    if (this.settings.urls?.some((url) => url.startsWith('tcp:')) ?? this.settings.discovery.transport === 'zmq') await loadClientZeromq();
    if (this.settings.spill) {
      this.spill = await Spill.open(this.settings.spill.dir, this.settings.spill.maxBytes, this.settings.logger);
      if (this.closing) return;
      for (const ack of this.spill.openModes()) this.startPump(ack);
    }
    if (this.settings.urls === undefined) {
      this.discoveredAt = Date.now();
      const found = await discoverUrls(this.settings.discovery, this.settings.logger);
      this.pool.setUrls(found.urls, found.zmqMaxMessageBytes);
    }
  }

  /** Sends a JSON value (anything JSON.stringify takes) as a `json` event. */
  send(topic: string, value: unknown, options: SendOptions = NO_OPTIONS): Promise<Delivery> {
    return this.submit('json', topic, value, options);
  }

  /** Sends bytes as they are: `binary` by default, or `text` / `json` (`options.type`). */
  sendRaw(topic: string, data: Uint8Array | string, options: RawSendOptions = NO_OPTIONS): Promise<Delivery> {
    return this.submit('raw', topic, data, options);
  }

  /**
   * Sends on an event received elsewhere (a relay, as `sparkngin drain` does): its id, type, key,
   * client time, headers and payload are kept; the receiving instance sets receive time, address, host.
   */
  sendEnvelope(envelope: Envelope, options: { ack?: AckMode } = NO_OPTIONS): Promise<Delivery> {
    return this.submit('relayed', envelope.topic, envelope, options);
  }

  /** One event into its batch (EventWriter writes it as `kind` says), its promise; what refuses it rejects the promise. */
  private submit(kind: 'json' | 'raw' | 'relayed', topic: string, data: unknown, options: RawSendOptions): Promise<Delivery> {
    const promise = new Promise<Delivery>(capture);
    const settle = captured.resolve!;
    try {
      const batch = this.batchFor(topic, options.ack);
      const frame =
        kind === 'json'
          ? this.writer.json(batch, topic, data, options)
          : kind === 'raw'
            ? this.writer.raw(batch, topic, data as Uint8Array | string, options)
            : this.writer.relayed(batch, data as Envelope);
      this.admit(batch, frame, settle);
    } catch (error) {
      captured.reject!(error as Error);
    }
    return promise;
  }

  /** The open batch an event goes into (written at its end by EventWriter, then admitted); throws what refuses any send. */
  private batchFor(topic: string, ackOption: AckMode | undefined): Batch {
    if (this.closing) throw new ClientClosedError();
    if (this.startError) throw this.startError;
    const ack = ackOption ?? this.settings.ack;
    if (ack !== 'spool' && ack !== 'sink') throw new InvalidEventError(`ack must be 'spool' or 'sink', got ${String(ack)}`);
    return this.batcher.batchFor(ack, topic, this.epoch);
  }

  /** The frame of `frameLength` bytes just written at the end of `batch`: into the buffer, or waiting for room. */
  private admit(batch: Batch, frameLength: number, settle: Settle): void {
    const { maxBytes, whenFull, maxBlockMs } = this.settings.buffer;
    if (frameLength > maxBytes) throw new InvalidEventError(`the event (${frameLength - FRAME_HEADER} bytes encoded) is larger than buffer.maxBytes`);
    this.track(this.epoch, +1);
    if (this.blocked.length === 0 && this.bufferedBytes + frameLength <= maxBytes) return this.accept(batch, frameLength, settle);
    const envelope = Buffer.from(batch.body.subarray(batch.size + FRAME_HEADER, batch.size + frameLength));
    const waiting = new WaitingEvent(batch.topic, batch.ack, this.epoch, envelope, settle);
    if (whenFull === 'fail') return this.refuseWaiting(waiting, new BufferFullError(maxBytes));
    waiting.timer = setTimeout(() => {
      this.blocked.splice(this.blocked.indexOf(waiting), 1);
      this.refuseWaiting(waiting, new BufferFullError(maxBytes));
    }, maxBlockMs);
    this.blocked.push(waiting);
  }

  /** Into the buffer and the batch. */
  private accept(batch: Batch, frameLength: number, settle: Settle): void {
    this.bufferedBytes += frameLength;
    this.counters.sent++;
    this.keepTicking();
    this.batcher.commit(batch, frameLength, settle);
  }

  /** Where the application's batches settle: the counters, the buffer, flush(), then each event's promise. */
  private readonly ledger: BatchOwner = {
    acked: (batch, instance, attempts) => {
      this.release(batch, 'acked');
      resolveAll(batch, 'acked', instance, attempts);
      this.batcher.recycle(batch);
    },
    spilled: (batch) => {
      this.release(batch, 'spilled');
      resolveAll(batch, 'spilled');
    },
    failed: (batch, error) => {
      this.release(batch, 'failed');
      rejectAll(batch, error);
    },
  };

  private release(batch: Batch, outcome: Settlement): void {
    this.counters[outcome] += batch.count;
    this.bufferedBytes -= batch.size - NW1_OVERHEAD;
    this.track(batch.epoch, -batch.count);
    this.admitBlocked();
  }

  private refuseWaiting(waiting: WaitingEvent, error: Error): void {
    this.counters.failed++;
    this.track(waiting.epoch, -1);
    waiting.settle(failedWith(error));
  }

  private admitBlocked(): void {
    const max = this.settings.buffer.maxBytes;
    while (this.blocked.length > 0 && this.bufferedBytes + FRAME_HEADER + this.blocked[0]!.envelope.length <= max) {
      const waiting = this.blocked.shift()!;
      clearTimeout(waiting.timer);
      const batch = this.batcher.batchFor(waiting.ack, waiting.topic, waiting.epoch);
      this.accept(batch, batch.writeFrame(waiting.envelope), waiting.settle);
    }
  }

  private enqueue(batch: Batch): void {
    this.queue.push(batch);
    this.pump();
  }

  /**
   * Sends what the queue holds, as far as requests in flight and available instances allow. When no
   * instance can take anything, the batches of the application go to the spill (if there is one);
   * batches read back from the spill stay queued until an instance can take them.
   */
  private pump(): void {
    if (this.startError) return;
    const now = Date.now();
    while (this.inFlight < this.settings.maxInFlight && this.queue.length > 0) {
      const batch = this.queue[0]!;
      if (batch.deadline <= now) {
        this.queue.shift();
        this.expire(batch);
        continue;
      }
      let instance = this.pool.pick(batch.failedOn);
      if (instance === undefined && batch.failedOn.size > 0) {
        batch.failedOn.clear();
        instance = this.pool.pick();
      }
      if (instance === undefined) break;
      this.queue.shift();
      this.dispatch(batch, instance);
    }
    if (this.queue.length > 0 && !this.starting && this.pool.pick() === undefined) this.rediscover();
    if (this.spill !== undefined && !this.starting && this.queue.length > 0 && this.pool.pick() === undefined) {
      const kept = this.queue.filter((batch) => batch.fromSpill);
      const spilled = this.queue.filter((batch) => !batch.fromSpill);
      this.queue.splice(0, this.queue.length, ...kept);
      for (const batch of spilled) this.spillBatch(batch);
    }
  }

  /**
   * No instance can take anything, and they were found on the LAN: look again (at most every
   * REDISCOVER_MS), adding what is found to those known (they may come back too).
   */
  private rediscover(): void {
    if (this.settings.urls !== undefined || this.rediscovering || Date.now() - this.discoveredAt < REDISCOVER_MS) return;
    this.rediscovering = true;
    this.discoveredAt = Date.now();
    discoverUrls(this.settings.discovery, this.settings.logger).then(
      (found) => {
        this.rediscovering = false;
        if (!this.stopping.signal.aborted) this.pool.setUrls([...this.pool.urls(), ...found.urls], found.zmqMaxMessageBytes);
      },
      () => (this.rediscovering = false),
    );
  }

  /** Expires the queued batches past their deadline (the pump only looks at the head). */
  private tick(): void {
    const now = Date.now();
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.deadline <= now) this.expire(this.queue.splice(i, 1)[0]!);
    }
    this.pump();
  }

  private dispatch(batch: Batch, instance: Instance): void {
    this.inFlight++;
    instance.inFlight++;
    const { token, requestTimeoutMs } = this.settings;
    const request = { base: instance.base, agent: instance.agent, http1: instance.http1, topic: batch.topic, ack: batch.ack, body: batch.request(), events: batch.count, token, timeoutMs: requestTimeoutMs, signal: this.stopping.signal };
    void (instance.zmq?.request(request) ?? post(request)).then((outcome) => {
      this.inFlight--;
      instance.inFlight--;
      this.settleRequest(batch, instance, outcome);
      this.pump();
    });
  }

  private settleRequest(batch: Batch, instance: Instance, outcome: Outcome): void {
    if (outcome.kind === 'acked') {
      this.pool.succeeded(instance, batch.count);
      batch.acked(instance.url, batch.failures + 1);
      return;
    }
    if (outcome.kind === 'refused') {
      if (outcome.split && batch.count > 1) {
        this.queue.unshift(...splitBatch(batch));
        return;
      }
      batch.failed(new EventRefusedError(outcome.status, outcome.code, outcome.message, instance.url));
      return;
    }
    this.counters.retries++;
    this.pool.failed(instance, outcome.instance, outcome.afterMs, outcome.why);
    batch.failures++;
    batch.lastError = `${instance.url}: ${outcome.why}`;
    batch.failedOn.add(instance);
    if (this.stopping.signal.aborted) return this.abandon(batch);
    // Fail over at once when another instance can take it; otherwise wait (at least Retry-After).
    if (this.pool.pick(batch.failedOn) !== undefined) {
      this.queue.unshift(batch);
      return;
    }
    batch.failedOn.clear();
    if (this.spill !== undefined && !batch.fromSpill && this.pool.pick() === undefined) return this.spillBatch(batch);
    this.later(Math.max(backoffMs(this.settings.retry, batch.failures - 1), outcome.afterMs), batch);
  }

  /** Puts `batch` back in the queue after `ms`. */
  private later(ms: number, batch: Batch): void {
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.queue.unshift(batch);
      this.pump();
    }, ms);
    this.waiting.set(timer, batch);
  }

  private expire(batch: Batch): void {
    if (this.spill !== undefined && !batch.fromSpill) return this.spillBatch(batch);
    batch.failed(new DeliveryTimeoutError(this.settings.deliveryTimeoutMs, batch.lastError));
  }

  private spillBatch(batch: Batch): void {
    const spill = this.spill!;
    this.spilling++;
    if (!this.spillWarned) {
      this.spillWarned = true;
      this.settings.logger.warn('client.spilling', { dir: spill.dir, why: batch.lastError ?? 'no instance is up' });
    }
    const first = !this.pumps.has(batch.ack);
    spill.append(batch.ack, batch.envelopes()).then(
      () => {
        this.spilling--;
        batch.spilled();
        if (first) this.startPump(batch.ack);
      },
      (error: Error) => {
        this.spilling--;
        // Spill full or failing: the batch stays in memory and is tried again (the buffer pushes back).
        this.settings.logger.error('client.spill_failed', { dir: spill.dir, error });
        batch.lastError = `spill: ${error.message}`;
        batch.failures++;
        this.later(backoffMs(this.settings.retry, batch.failures - 1), batch);
      },
    );
  }

  /** Delivers what the spill of `ack` holds (spill-delivery.ts), while the client runs. */
  private startPump(ack: AckMode): void {
    if (this.pumps.has(ack) || this.spill === undefined) return;
    const pump = deliverSpill(ack, {
      spill: this.spill,
      batch: this.settings.batch,
      chunks: Math.max(1, Math.floor(this.settings.maxInFlight / 2)),
      stopped: this.stopping.signal,
      send: (batches) => {
        this.queue.push(...batches);
        this.pump();
      },
      delivered: (count) => (this.counters.deliveredFromSpill += count),
    }).catch((error: Error) => this.settings.logger.error('client.spill_pump_failed', { error }));
    this.pumps.set(ack, pump);
  }

  /** A spill batch left behind at close: not acknowledged, so it stays in the spill for the next run. */
  private abandon(batch: Batch): void {
    batch.failed(new ClientClosedError());
  }

  private track(epoch: number, delta: number): void {
    const count = (this.outstanding.get(epoch) ?? 0) + delta;
    if (count === 0) this.outstanding.delete(epoch);
    else this.outstanding.set(epoch, count);
    if (delta < 0) this.checkFlushes();
  }

  private checkFlushes(): void {
    const oldest = this.outstanding.keys().next();
    const open = oldest.done ? Infinity : oldest.value;
    for (let i = this.flushes.length - 1; i >= 0; i--) {
      if (this.flushes[i]!.epoch < open) this.flushes.splice(i, 1)[0]!.resolve();
    }
    if (this.outstanding.size === 0 && this.queue.length === 0 && this.inFlight === 0 && this.spilling === 0) this.stopTicking();
  }

  private keepTicking(): void {
    if (this.ticker !== undefined) return;
    // Keeps the process alive while events are outstanding: a program that awaits close() must not
    // exit in the middle because every other timer is unref'd.
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  private stopTicking(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Resolves once every event sent before the call is acknowledged, spilled or rejected. */
  flush(): Promise<void> {
    const epoch = this.epoch++;
    this.batcher.sealAll();
    const promise = new Promise<void>((resolve) => this.flushes.push({ epoch, resolve }));
    this.checkFlushes();
    return promise;
  }

  /**
   * Refuses later sends, waits for every event sent to be acknowledged, spilled or rejected, then
   * stops. Spilled events not delivered yet stay in the spill for the next client on its dir.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await this.started;
      await this.flush();
      // What is left is spill deliveries: given up, their chunk uncommitted, so the next run sends them.
      this.stopping.abort();
      for (const [timer, batch] of this.waiting) {
        clearTimeout(timer);
        this.abandon(batch);
      }
      this.waiting.clear();
      for (const batch of this.queue.splice(0)) this.abandon(batch);
      await this.spill?.close();
      await Promise.all(this.pumps.values());
      this.stopTicking();
      this.pool.close();
    })();
    return this.closed;
  }

  /** Rejects everything waiting: the client could not start. */
  private failAll(error: Error): void {
    this.batcher.sealAll();
    for (const waiting of this.blocked.splice(0)) {
      clearTimeout(waiting.timer);
      this.refuseWaiting(waiting, error);
    }
    for (const batch of this.queue.splice(0)) batch.failed(error);
  }

  stats(): ClientStats {
    return {
      ...this.counters,
      bufferedBytes: this.bufferedBytes,
      inFlight: this.inFlight,
      queuedBatches: this.queue.length,
      instances: this.pool.stats(),
    };
  }

  /** Events spilled and not delivered yet, per ack mode (0 without a spill). */
  async spillBacklog(): Promise<Record<AckMode, number>> {
    return this.spill === undefined || this.spill.isClosed ? { spool: 0, sink: 0 } : this.spill.backlog();
  }
}
