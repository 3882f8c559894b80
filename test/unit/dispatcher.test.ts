import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId } from '../../src/envelope/envelope';
import { SinkError } from '../../src/errors';
import { silentLogger } from '../../src/ops/log';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { Dispatcher } from '../../src/sinks/dispatcher';
import { topicFilter } from '../../src/sinks/route';
import type { Sink, SinkHealth } from '../../src/sinks/sink';
import type { Spool } from '../../src/spool/spool';
import { openSpool, tempDir } from './spool-helpers';

/** A sink of our own interface that records what it got and fails on command (pure dispatcher logic). */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  received: Envelope[] = [];
  failNext = 0;
  refuse = new Set<string>();
  async start() {}
  async stop() {}
  health(): SinkHealth {
    return { state: 'up' };
  }
  async send(batch: Envelope[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new SinkError(this.name, 'destination down', { retriable: true });
    }
    if (batch.some((e) => this.refuse.has(e.data.toString()))) throw new SinkError(this.name, 'too large', { retriable: false });
    this.received.push(...batch);
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

async function setup(patterns = ['*']) {
  const temp = await tempDir();
  const spool: Spool = await openSpool(temp.dir);
  const sink = new ScriptedSink();
  const deadLetters = new DeadLetterFile(join(temp.dir, 'dead-letter'), sink.name);
  const retry = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0.2 };
  const dispatcher = new Dispatcher(sink, await spool.openReader(sink.name), { topics: patterns, batch: { maxRecords: 100, maxBytes: 1 << 20 }, retry }, topicFilter(patterns), deadLetters, silentLogger);
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

  it('sends only the topics routed to it, and still moves past the others', async () => {
    const { sink, dispatcher, append } = await setup(['orders.*', 'audit']);
    const { firstSeq, lastSeq } = await append([event('orders.eu', '1'), event('clicks', '2'), event('audit', '3'), event('orders', '4')]);
    await dispatcher.whenDelivered(firstSeq, lastSeq);
    expect(sink.received.map((e) => e.topic)).toEqual(['orders.eu', 'audit']);
    expect(dispatcher.stats().nextSeq).toBe(4);
  });
});
