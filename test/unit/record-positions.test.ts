// Where records went (for ack=sink answers that give Kafka's offsets): the waiters keep the
// positions a sink reports for the ranges that asked, and the Kafka sink works them out from a
// produce answer (consecutive offsets per partition from its base offset, in request order).
import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { notePositions, type PositionsById, positionsOf } from '../../src/sinks/kafka/positions';
import { HEADER } from '../../src/sinks/kafka/record';
import { SinkError } from '../../src/errors';
import { DeliveryWaiters } from '../../src/sinks/waiters';

describe('DeliveryWaiters with positions', () => {
  it('resolves a waiter that asked with the positions reported for its range, null where none came', async () => {
    const waiters = new DeliveryWaiters('kafka');
    let delivered = 0;
    const asked = waiters.wait(() => delivered, 10, 13, undefined, true);
    const plain = waiters.wait(() => delivered, 10, 13);
    expect(waiters.wantsPositions()).toBe(true);
    waiters.positioned([9, 10, 11, 12], [{ partition: 0, offset: 5 }, { partition: 1, offset: 7 }, undefined, { partition: 1, offset: 8 }]);
    delivered = 14;
    waiters.deliveredBelow(14);
    expect(await asked).toEqual([{ partition: 1, offset: 7 }, null, { partition: 1, offset: 8 }, null]);
    expect(await plain).toBeUndefined();
    expect(waiters.wantsPositions()).toBe(false);
  });

  it('stops wanting positions once the waiters that asked are gone (aborted, resolved or rejected)', async () => {
    const waiters = new DeliveryWaiters('kafka');
    let delivered = 0;
    const controller = new AbortController();
    const aborted = waiters.wait(() => delivered, 0, 1, controller.signal, true);
    const dead = waiters.wait(() => delivered, 5, 5, undefined, true);
    const stopped = waiters.wait(() => delivered, 9, 9, undefined, true);
    controller.abort(new Error('client left'));
    await expect(aborted).rejects.toThrow('client left');
    waiters.deadLettered(5, { message: 'too large' });
    delivered = 6;
    waiters.deliveredBelow(6);
    expect((await dead)![0]).toBeInstanceOf(SinkError);
    expect(waiters.wantsPositions()).toBe(true);
    waiters.stopped();
    await expect(stopped).rejects.toThrow(/stopped before delivery/);
    expect(waiters.wantsPositions()).toBe(false);
  });

  it('a dead-lettered record is its slot\'s refusal, not the waiter\'s: it resolves once the range is past, the others with their positions; a waiter without positions is rejected at once', async () => {
    const waiters = new DeliveryWaiters('kafka');
    let delivered = 10;
    const asked = waiters.wait(() => delivered, 10, 12, undefined, true);
    const plain = waiters.wait(() => delivered, 10, 12);
    waiters.positioned([10], [{ partition: 0, offset: 3 }]);
    waiters.deadLettered(11, { code: 'KAFKA_PARTITION_NOT_FOUND', message: 'partition 7 does not exist' } );
    await expect(plain).rejects.toThrow(/refused an event for good: partition 7 does not exist/);
    waiters.positioned([12], [{ partition: 2, offset: 9 }]);
    delivered = 13;
    waiters.deliveredBelow(13);
    const outcomes = (await asked)!;
    expect([outcomes[0], outcomes[2]]).toEqual([{ partition: 0, offset: 3 }, { partition: 2, offset: 9 }]);
    const refusal = outcomes[1] as SinkError;
    expect([refusal instanceof SinkError, refusal.sink, (refusal.cause as { code: string }).code]).toEqual([true, 'kafka', 'KAFKA_PARTITION_NOT_FOUND']);
  });
});

describe('Kafka record positions', () => {
  const envelope = (topic: string): Envelope => ({ id: newEventId(), topic, ts: 1, ip: '', host: '', headers: newHeaders(), type: 'text', data: Buffer.from('x') });
  const message = (e: Envelope): Message => ({ key: null, value: e.data, headers: { [HEADER.id]: e.id } });

  it('gives each record its partition and base offset + its place among its partition in the request', () => {
    const batch = [envelope('a'), envelope('b'), envelope('a'), envelope('a'), envelope('b')];
    const messages = batch.map(message);
    const partition = new Map<Message, number>([
      [messages[0]!, 0],
      [messages[2]!, 1],
      [messages[3]!, 0],
      [messages[1]!, 2],
      [messages[4]!, 2],
    ]);
    // chunkByRequestSize groups a request by topic: a's records, then b's.
    const sent: TopicMessages[] = [
      { topic: 'a', messages: [messages[0]!, messages[2]!, messages[3]!] },
      { topic: 'b', messages: [messages[1]!, messages[4]!] },
    ];
    const answer = [
      { topicName: 'a', partition: 0, errorCode: 0, baseOffset: '40' },
      { topicName: 'a', partition: 1, errorCode: 0, baseOffset: '7' },
      { topicName: 'b', partition: 2, errorCode: 0, baseOffset: '100' },
    ] as RecordMetadata[];
    const noted: PositionsById = new Map();
    notePositions(noted, sent, (m) => partition.get(m), answer);
    expect(positionsOf(batch, noted)).toEqual([
      { partition: 0, offset: 40 },
      { partition: 2, offset: 100 },
      { partition: 1, offset: 7 },
      { partition: 0, offset: 41 },
      { partition: 2, offset: 101 },
    ]);
  });

  it('leaves a record without a known partition or base offset unknown, and tells apart two copies of one event', () => {
    const one = envelope('a');
    const batch = [one, { ...one }, envelope('a')];
    const messages = batch.map(message);
    const sent: TopicMessages[] = [{ topic: 'a', messages }];
    const partitions = [3, 3, undefined];
    const noted: PositionsById = new Map();
    notePositions(noted, sent, (m) => partitions[messages.indexOf(m)], [{ topicName: 'a', partition: 3, errorCode: 0, baseOffset: '9' }] as RecordMetadata[]);
    expect(positionsOf(batch, noted)).toEqual([{ partition: 3, offset: 9 }, { partition: 3, offset: 10 }, undefined]);
  });
});
