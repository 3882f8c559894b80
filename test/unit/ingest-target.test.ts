// The ingest's target in the daemon (src/daemon/ingest-target.ts) on a real spool and a real
// dispatcher, with a sink of our own interface that is down until told otherwise (pure waiting logic:
// the daemon against a real broker that is down is in test/integration/ingest-bounds.test.ts).
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpoolIngestTarget } from '../../src/daemon/ingest-target';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { RequestError, SinkError } from '../../src/errors';
import { silentLogger } from '../../src/ops/log';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { Dispatcher } from '../../src/sinks/dispatcher';
import { topicFilter } from '../../src/sinks/route';
import type { FailureClass, Sink, SinkHealth } from '../../src/sinks/sink';
import type { DeliveryWaiters } from '../../src/sinks/waiters';
import { until } from '../wait';
import { openSpool, tempDir } from './spool-helpers';

class DownSink implements Sink {
  readonly name = 'down';
  up = false;
  async start() {}
  async stop() {}
  health(): SinkHealth {
    return { state: this.up ? 'up' : 'down' };
  }
  async send(): Promise<void> {
    if (!this.up) throw new SinkError(this.name, 'destination down', { retriable: true });
  }
  classify(): FailureClass {
    return 'retriable';
  }
}

const event = (): Envelope => ({ id: newEventId(), topic: 't', ts: Date.now(), ip: '127.0.0.1', host: 'h', headers: newHeaders(), type: 'text', data: Buffer.from('x') });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(limits: { timeoutMs: number; maxWaiting: number }) {
  const temp = await tempDir();
  const spool = await openSpool(temp.dir);
  const sink = new DownSink();
  const retry = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0.2 };
  const dispatcher = new Dispatcher(sink, await spool.openReader(sink.name), { topics: ['*'], batch: { maxRecords: 100, maxBytes: 1 << 20, lingerMs: 0 }, retry }, topicFilter(['*']), new DeadLetterFile(join(temp.dir, 'dl'), sink.name), silentLogger);
  dispatcher.start();
  cleanups.push(async () => {
    await dispatcher.stop(Date.now(), () => true);
    await spool.close();
    await temp.remove();
  });
  const target = new SpoolIngestTarget(spool, [dispatcher], limits);
  /** The dispatcher's ack=sink waiters (private state, but what this test is about): live, and dropped but not yet swept. */
  const waiters = () => (dispatcher as unknown as { waiters: DeliveryWaiters }).waiters.count();
  return { spool, sink, dispatcher, target, waiters };
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: RequestError) => error.code);

describe('ack=sink in the daemon', () => {
  it('bounds the requests waiting for sinks: past http.maxSinkAckRequests, 503 before anything is stored', async () => {
    const { target, spool, sink } = await setup({ timeoutMs: 60_000, maxWaiting: 3 });
    let stored = 0;
    const waiting = [1, 2, 3].map(() => target.accept([event()], 'sink', { onStored: () => stored++ }));
    expect(target.sinkAckWaiting).toBe(3);
    const refused = await target.accept([event()], 'sink').catch((error: RequestError) => error);
    expect(refused).toMatchObject({ status: 503, code: 'SINK_ACK_BUSY', headers: { 'retry-after': '1' } });
    await until(() => stored === 3, 'the three waiting requests are stored');
    expect(spool.stats().nextSeq).toBe(3);
    // ack=spool is never held back by the waiters.
    await target.accept([event()], 'spool');
    sink.up = true;
    await Promise.all(waiting);
    expect(target.sinkAckWaiting).toBe(0);
  });

  it('drops a waiter at once when the request times out (504) or its client leaves, while the sink stays down', async () => {
    const { target, waiters } = await setup({ timeoutMs: 300, maxWaiting: 100 });
    const timedOut = Array.from({ length: 20 }, () => codeOf(target.accept([event()], 'sink')));
    const gone = new AbortController();
    const left = codeOf(target.accept([event()], 'sink', { signal: gone.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    gone.abort(new RequestError(499, 'CLIENT_CLOSED', 'gone'));
    expect(await left).toBe('CLIENT_CLOSED');
    expect(await Promise.all(timedOut)).toEqual(Array(20).fill('SINK_ACK_TIMEOUT'));
    // Settled at once and holding nothing; the entries themselves are swept out in bulk (amortised).
    const { live, dropped } = waiters();
    expect(live).toBe(0);
    expect(dropped).toBeLessThanOrEqual(21 / 2);
    expect(target.sinkAckWaiting).toBe(0);
  });

  it('tells the ingest when the events are stored, before the wait for the sinks', async () => {
    const { target, spool, sink } = await setup({ timeoutMs: 60_000, maxWaiting: 10 });
    let storedAt = -1;
    const accepted = target.accept([event(), event()], 'sink', { onStored: () => (storedAt = spool.stats().nextSeq) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(storedAt).toBe(2);
    sink.up = true;
    await accepted;
  });

  it("with positions, each record's outcome across the routed sinks: a refusal by any sink is the record's, else the position the sink that knows reported", async () => {
    const temp = await tempDir();
    const spool = await openSpool(temp.dir);
    const retry = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0.2 };
    // Refuses for good the records whose data is in `refuses`; reports positions (offset = data's number) when it `positions`.
    const refusing = (name: string, refuses: string[], positions: boolean): Sink => ({
      name,
      async start() {},
      async stop() {},
      health: () => ({ state: 'up' }),
      async send(batch, options) {
        if (batch.some((e) => refuses.includes(e.data.toString()))) throw new SinkError(name, 'refused', { cause: { code: 'REFUSED' } });
        return positions && options?.positions ? batch.map((e) => ({ partition: 0, offset: Number(e.data.toString()) })) : undefined;
      },
      classify: () => 'permanent',
    });
    const dispatchers: Dispatcher[] = [];
    for (const sink of [refusing('positioned', ['2'], true), refusing('other', ['3'], false)]) {
      const config = { topics: ['*'], batch: { maxRecords: 100, maxBytes: 1 << 20, lingerMs: 0 }, retry };
      dispatchers.push(new Dispatcher(sink, await spool.openReader(sink.name), config, topicFilter(['*']), new DeadLetterFile(join(temp.dir, 'dl'), sink.name), silentLogger));
    }
    for (const d of dispatchers) d.start();
    cleanups.push(async () => {
      for (const d of dispatchers) await d.stop(Date.now(), () => true);
      await spool.close();
      await temp.remove();
    });
    const target = new SpoolIngestTarget(spool, dispatchers, { timeoutMs: 60_000, maxWaiting: 10 });
    const numbered = (n: number): Envelope => ({ ...event(), data: Buffer.from(String(n)) });
    const outcomes = (await target.accept([1, 2, 3, 4].map(numbered), 'sink', { positions: true }))!;
    expect([outcomes[0], outcomes[3]]).toEqual([
      { partition: 0, offset: 1 },
      { partition: 0, offset: 4 },
    ]);
    expect([outcomes[1], outcomes[2]].map((o) => (o as SinkError).sink)).toEqual(['positioned', 'other']);
  });
});
