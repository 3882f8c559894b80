import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { SinkError } from '../../src/errors';
import { silentLogger } from '../../src/ops/log';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { Dispatcher } from '../../src/sinks/dispatcher';
import type { SinkFilterConfig } from '../../src/sinks/kind';
import { sinkRoute } from '../../src/sinks/registry';
import { topicFilter } from '../../src/sinks/route';
import type { FailureClass, Sink, SinkHealth } from '../../src/sinks/sink';
import type { Spool } from '../../src/spool/spool';
import { openSpool, tempDir } from './spool-helpers';

/** An error that says how the scripted sink classifies it. */
class ScriptedError extends SinkError {
  constructor(
    message: string,
    readonly failure: FailureClass,
  ) {
    super('scripted', message);
  }
}

/** A sink of our own interface that records what it got and fails on command (pure dispatcher logic). */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  received: Envelope[] = [];
  sends = 0;
  failNext = 0;
  /** The next sends throw a TypeError, as a sink with a bug would. */
  bugNext = 0;
  refuse = new Set<string>();
  async start() {}
  async stop() {}
  health(): SinkHealth {
    return { state: 'up' };
  }
  classify(error: unknown): FailureClass {
    return error instanceof ScriptedError ? error.failure : 'retriable';
  }
  async send(batch: Envelope[]) {
    this.sends++;
    if (this.bugNext > 0) {
      this.bugNext--;
      (undefined as unknown as { write(): void }).write();
    }
    if (this.failNext > 0) {
      this.failNext--;
      throw new ScriptedError('destination down', 'retriable');
    }
    if (batch.some((e) => this.refuse.has(e.data.toString()))) throw new ScriptedError('too large', 'permanent');
    this.received.push(...batch);
  }
}

/** A scripted sink that can probe its destination: the probe fails `probeFailures` times, then succeeds. */
class ProbedSink extends ScriptedSink {
  probes = 0;
  probeFailures = 0;
  async probe() {
    this.probes++;
    if (this.probeFailures-- > 0) throw new Error('still down');
  }
}

const event = (topic: string, text: string): Envelope => ({
  id: newEventId(),
  topic,
  ts: Date.now(),
  ip: '127.0.0.1',
  host: 'test',
  headers: {},
  type: 'text',
  data: Buffer.from(text),
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup<S extends ScriptedSink = ScriptedSink>(
  patterns = ['*'],
  options: { sink?: S; retry?: { initialMs: number; maxMs: number; factor: number; jitter: number }; rename?: string; filter?: SinkFilterConfig; lingerMs?: number } = {},
) {
  const temp = await tempDir();
  const spool: Spool = await openSpool(temp.dir);
  const sink = options.sink ?? (new ScriptedSink() as S);
  const deadLetters = new DeadLetterFile(join(temp.dir, 'dead-letter'), sink.name);
  const retry = options.retry ?? { initialMs: 5, maxMs: 20, factor: 2, jitter: 0.2 };
  const delivery = { topics: patterns, batch: { maxRecords: 100, maxBytes: 1 << 20, lingerMs: options.lingerMs ?? 0 }, retry, ...(options.rename === undefined ? {} : { rename: options.rename }), ...(options.filter === undefined ? {} : { filter: options.filter }) };
  const route = options.rename === undefined && options.filter === undefined ? topicFilter(patterns) : sinkRoute(delivery);
  const dispatcher = new Dispatcher(sink, await spool.openReader(sink.name), delivery, route, deadLetters, silentLogger);
  dispatcher.start();
  cleanups.push(async () => {
    await dispatcher.stop(Date.now(), () => true);
    await spool.close();
    await temp.remove();
  });
  const append = (events: Envelope[]) => spool.append(events.map(encodeEnvelope));
  return { spool, sink, dispatcher, deadLetters, append };
}

describe('dispatcher', () => {
  it('delivers in order, moves the cursor, and resolves ack=sink waiters', async () => {
    const { sink, dispatcher, append } = await setup();
    const { firstSeq, lastSeq } = await append(Array.from({ length: 250 }, (_, i) => event('clicks', `e${i}`)));
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(Array.from({ length: 250 }, (_, i) => `e${i}`));
    expect(dispatcher.stats()).toMatchObject({ nextSeq: 250, deliveredRecords: 250, deadLetteredRecords: 0 });
  });

  it('retries a destination that is down until it takes the batch, losing nothing', async () => {
    const { sink, dispatcher, append } = await setup();
    sink.failNext = 5;
    const { firstSeq, lastSeq } = await append([event('t', 'a'), event('t', 'b')]);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['a', 'b']);
    expect(dispatcher.stats().failedSends).toBe(5);
  });

  it('parks only the record refused for good in the dead-letter file and delivers the rest', async () => {
    const { sink, dispatcher, deadLetters, append } = await setup();
    sink.refuse.add('poison');
    const { firstSeq, lastSeq } = await append([event('t', 'ok1'), event('t', 'poison'), event('t', 'ok2')]);
    await expect(dispatcher.whenDelivered(firstSeq, lastSeq)).rejects.toThrow(/refused an event for good/);
    const after = await append([event('t', 'ok3')]);
    await dispatcher.whenDelivered(after.firstSeq, after.lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['ok1', 'ok2', 'ok3']);
    const parked = (await readFile(deadLetters.path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(parked).toHaveLength(1);
    expect(parked[0].event.data).toBe('poison');
    expect(parked[0].reason).toMatch(/too large/);
    expect(dispatcher.stats().deadLetteredRecords).toBe(1);
  });

  it('gives the sink renamed topics and only the events its key and header filter pass; a dead letter keeps the spooled topic', async () => {
    const filter: SinkFilterConfig = { keys: ['user-*'], headers: Object.assign(Object.create(null), { env: 'prod*' }) };
    const { sink, dispatcher, deadLetters, append } = await setup(['web.*'], { rename: 'prod.{topic}', filter });
    sink.refuse.add('poison');
    const keyed = (topic: string, text: string, key: string | undefined, env: string | undefined): Envelope => ({ ...event(topic, text), ...(key === undefined ? {} : { key }), headers: env === undefined ? {} : { env } });
    const { firstSeq, lastSeq } = await append([
      keyed('web.a', 'pass', 'user-1', 'prod-eu'),
      keyed('web.a', 'no key', undefined, 'prod'),
      keyed('web.a', 'other key', 'admin', 'prod'),
      keyed('web.a', 'no header', 'user-2', undefined),
      keyed('web.a', 'other header', 'user-3', 'test'),
      keyed('db.a', 'other topic', 'user-4', 'prod'),
      keyed('web.b', 'poison', 'user-5', 'prod'),
    ]);
    await expect(dispatcher.whenDelivered(firstSeq, lastSeq)).rejects.toThrow(/refused an event for good/);
    await until(() => dispatcher.stats().nextSeq === 7);
    expect(sink.received.map((e) => [e.topic, e.data.toString()])).toEqual([['prod.web.a', 'pass']]);
    const parked = JSON.parse((await readFile(deadLetters.path, 'utf8')).trim());
    expect([parked.event.topic, parked.event.data]).toEqual(['web.b', 'poison']);
  });

  it('gives the sink each record as decoding it whole gives it, records with the fields of the one before (decodeLike) included', async () => {
    const { sink, dispatcher, append } = await setup();
    const base = event('t', '');
    const headers = Object.assign(newHeaders(), { env: 'prod', 'sparkngin-id': 'theirs' });
    // Runs alike (one request's records), then records differing in one field each from the one before.
    const events: Envelope[] = [
      ...Array.from({ length: 5 }, (_, i) => ({ ...base, id: newEventId(), headers, key: 'k1', data: Buffer.from(`a${i}`) })),
      { ...base, id: newEventId(), headers, key: 'k2', data: Buffer.from('other key') },
      { ...base, id: newEventId(), headers, key: 'k2', partition: 2, data: Buffer.from('a partition') },
      { ...base, id: newEventId(), headers, key: 'k2', partition: 0, data: Buffer.from('another partition') },
      { ...base, id: newEventId(), headers, key: 'k2', data: Buffer.from('none again') },
      { ...base, id: newEventId(), headers, key: 'k2', sts: 5, data: Buffer.from('client time') },
      { ...base, id: newEventId(), headers, key: 'k2', ts: base.ts + 1, data: Buffer.from('receive time') },
      { ...base, id: newEventId(), headers: newHeaders(), data: Buffer.from('no key, no headers') },
      { ...base, id: newEventId(), headers: newHeaders(), type: 'binary', data: Buffer.from([0, 255]) },
      { ...base, id: newEventId(), headers: newHeaders(), type: 'binary', ip: '::1', data: Buffer.alloc(0) },
      { ...base, id: newEventId(), topic: 'u', headers: newHeaders(), type: 'binary', ip: '::1', data: Buffer.from('other topic') },
    ];
    const { firstSeq, lastSeq } = await append(events);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    const plain = (e: Envelope) => ({ ...e, headers: { ...e.headers }, data: [...e.data] });
    expect(sink.received.map(plain)).toEqual(events.map((e) => plain(decodeEnvelope(encodeEnvelope(e)))));
    expect(sink.received[1]!.headers).toBe(sink.received[0]!.headers); // shared, not decoded again
  });

  it('gives records of a later format (a flag it does not know, bytes after the payload) the payload decoding them whole gives, alike or not', async () => {
    const { sink, dispatcher, spool } = await setup();
    // What a later version might spool (the downgrade envelope/README.md promises to read): flag
    // bit 3 and 4 bytes after the payload. The payloads are length-prefixed binary, alike in their
    // first bytes, as a run of one client's records is.
    const later = (tail: string) => {
      const data = Buffer.concat([Buffer.from([8, 0, 0, 0]), Buffer.from(tail)]);
      const bytes = encodeEnvelope({ ...event('t', ''), type: 'binary', key: 'k', data });
      bytes[2]! |= 8;
      return Buffer.concat([bytes, Buffer.from('XXXX')]);
    };
    const records = [later('aaaa'), later('bbbb'), later('cccc')];
    const { firstSeq, lastSeq } = await spool.append(records);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString('latin1'))).toEqual(records.map((bytes) => decodeEnvelope(bytes).data.toString('latin1')));
    expect(sink.received.map((e) => e.data.subarray(4).toString())).toEqual(['aaaa', 'bbbb', 'cccc']);
  });

  it('sends only the topics routed to it, and still moves past the others', async () => {
    const { sink, dispatcher, append } = await setup(['orders.*', 'audit']);
    const { firstSeq, lastSeq } = await append([event('orders.eu', '1'), event('clicks', '2'), event('audit', '3'), event('orders', '4')]);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.topic)).toEqual(['orders.eu', 'audit']);
    expect(dispatcher.stats().nextSeq).toBe(4);
  });

  it('routes runs of records alike by their own topic: a topic of the same length, or one taken again after others', async () => {
    const { sink, dispatcher, append } = await setup(['orders.eu']);
    // Every field but the topic and the payload the same, so only the topic tells the runs apart.
    const base = event('orders.eu', '');
    const run = (topic: string, from: number) => Array.from({ length: 3 }, (_, i) => ({ ...base, id: newEventId(), topic, data: Buffer.from(`${topic} ${from + i}`) }));
    const { firstSeq, lastSeq } = await append([...run('orders.eu', 0), ...run('orders.us', 0), ...run('clicks', 0), ...run('orders.eu', 3)]);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['orders.eu 0', 'orders.eu 1', 'orders.eu 2', 'orders.eu 3', 'orders.eu 4', 'orders.eu 5']);
    expect(dispatcher.stats().nextSeq).toBe(lastSeq + 1);
  });

  it('once caught up, waits batch.lingerMs before reading again, so events arriving one by one go out in one send', async () => {
    const { sink, dispatcher, append } = await setup(['*'], { lingerMs: 1_000 });
    const first = await append([event('t', 'first')]);
    await dispatcher.whenDelivered(first.firstSeq, first.lastSeq);
    const before = sink.sends;
    // Ten commits of one event each, well within the second the next read waits.
    let last = first;
    for (let i = 0; i < 10; i++) last = await append([event('t', `one by one ${i}`)]);
    await dispatcher.whenDelivered(first.lastSeq + 1, last.lastSeq);
    expect(sink.sends - before).toBe(1);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['first', ...Array.from({ length: 10 }, (_, i) => `one by one ${i}`)]);
  });

  it('reads a backlog without lingering, and stops at once while it lingers', async () => {
    const { sink, dispatcher, append } = await setup(['*'], { lingerMs: 30_000 });
    // 250 records already committed: reads of 100, 100 and 50, none of them caught up before the last.
    const { firstSeq, lastSeq } = await append(Array.from({ length: 250 }, (_, i) => event('t', `backlog ${i}`)));
    await dispatcher.whenDelivered(firstSeq, lastSeq, AbortSignal.timeout(10_000));
    expect(sink.received).toHaveLength(250);
    const stopping = Date.now();
    await dispatcher.stop(Date.now() + 20_000, () => true);
    expect(Date.now() - stopping, 'stop does not wait out the 30-s linger').toBeLessThan(10_000);
  });

  it('treats a bug in the sink as a bug: parks nothing, keeps the cursor, shows the sink down, restarts the loop, then delivers', async () => {
    const { sink, dispatcher, deadLetters, append } = await setup();
    sink.bugNext = 3;
    const { firstSeq, lastSeq } = await append([event('t', 'a'), event('t', 'b')]);
    await until(() => dispatcher.stats().loopRestarts >= 1);
    const failed = dispatcher.stats();
    expect(failed.state).toBe('failed');
    expect(failed.health).toEqual({ state: 'down', detail: expect.stringMatching(/^TypeError: /) });
    expect(failed.nextSeq).toBe(0);
    expect(failed.deadLetteredRecords).toBe(0);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['a', 'b']);
    const after = dispatcher.stats();
    expect(after).toMatchObject({ nextSeq: 2, deliveredRecords: 2, deadLetteredRecords: 0, loopRestarts: 3, health: { state: 'up' } });
    await expect(readFile(deadLetters.path)).rejects.toThrow(/ENOENT/);
  });

  it('does not dead-letter on a bug met while isolating a refused record', async () => {
    const { sink, dispatcher, deadLetters, append } = await setup();
    sink.refuse.add('poison');
    sink.bugNext = 0;
    const { firstSeq, lastSeq } = await append([event('t', 'ok1'), event('t', 'poison')]);
    // The first send is refused for good; the next one (a half of the batch) hits a bug.
    const originalSend = sink.send.bind(sink);
    let calls = 0;
    sink.send = async (batch) => {
      if (++calls === 2) sink.bugNext = 1;
      return originalSend(batch);
    };
    await expect(dispatcher.whenDelivered(firstSeq, lastSeq)).rejects.toThrow(/refused an event for good/);
    expect(dispatcher.stats().loopRestarts).toBe(1);
    const parked = (await readFile(deadLetters.path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(parked.map((line) => line.event.data)).toEqual(['poison']);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['ok1']);
  });

  it('restarts the loop when the dead-letter file cannot be written, and parks the record once it can', async () => {
    const { sink, dispatcher, deadLetters, append } = await setup();
    sink.refuse.add('poison');
    await mkdir(deadLetters.path, { recursive: true }); // a directory where the file goes: EISDIR
    const { firstSeq, lastSeq } = await append([event('t', 'poison'), event('t', 'ok')]);
    await until(() => dispatcher.stats().loopRestarts >= 2);
    expect(dispatcher.stats()).toMatchObject({ state: 'failed', nextSeq: 0, health: { state: 'down', detail: expect.stringMatching(/EISDIR/) } });
    await rm(deadLetters.path, { recursive: true });
    await expect(dispatcher.whenDelivered(firstSeq, lastSeq)).rejects.toThrow(/refused an event for good/);
    expect(sink.received.map((e) => e.data.toString())).toContain('ok');
    expect(dispatcher.stats()).toMatchObject({ nextSeq: 2, deadLetteredRecords: 1, health: { state: 'up' } });
  });

  it('probes a sink that can be probed while it backs off, and retries as soon as the probe succeeds', async () => {
    // A 60 s backoff that a test of 20 s could never wait out: only the probe can end it early.
    const { sink, dispatcher, append } = await setup(['*'], { sink: new ProbedSink(), retry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 } });
    sink.failNext = 1;
    sink.probeFailures = 2;
    const { firstSeq, lastSeq } = await append([event('t', 'a')]);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.data.toString())).toEqual(['a']);
    expect(sink.probes).toBe(3);
    expect(sink.sends).toBe(2);
  }, 20_000);

  it('stops promptly while the loop waits to restart after a bug', async () => {
    const { sink, dispatcher, append } = await setup(['*'], { retry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 } });
    sink.bugNext = 1;
    await append([event('t', 'a')]);
    await until(() => dispatcher.stats().state === 'failed');
    await dispatcher.stop(Date.now() + 60_000, () => false);
    expect(dispatcher.stats()).toMatchObject({ state: 'stopped', nextSeq: 0 });
  }, 20_000);
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
