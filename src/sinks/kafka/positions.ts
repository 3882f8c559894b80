// Where each record of a batch went in Kafka, for the ack=sink requests that ask (the REST Proxy
// compatible routes answer with it): Kafka answers a produce request with a base offset per (topic,
// partition), and the records of one partition in one request are one record batch that takes
// consecutive offsets from it, in the order they were in the request. With the partition our own
// partitioner gave each record (partitions.ts), every record's offset follows. Worked out only when
// the dispatcher asks (SendOptions.positions), so that a send nobody waits on pays nothing for it.
import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';
import type { Envelope } from '../../envelope/envelope';
import type { RecordPosition, SentPositions } from '../sink';
import { eventIdOf } from './partitions';

/** Positions by event id, in the order found (a batch may carry one event twice). */
export type PositionsById = Map<string, RecordPosition[]>;

/** Adds the positions of the records of one acknowledged produce request. */
export function notePositions(into: PositionsById, sent: TopicMessages[], partitionOf: (message: Message) => number | undefined, answer: readonly RecordMetadata[]): void {
  const next = new Map<string, number>();
  for (const entry of answer) {
    const base = entry.baseOffset ?? entry.offset;
    if (base !== undefined) next.set(`${entry.topicName}\0${entry.partition}`, Number(base));
  }
  for (const { topic, messages } of sent) {
    for (const message of messages) {
      const partition = partitionOf(message);
      const id = eventIdOf(message);
      const slot = `${topic}\0${partition}`;
      const offset = next.get(slot);
      if (partition === undefined || offset === undefined || typeof id !== 'string') continue;
      next.set(slot, offset + 1);
      const found = into.get(id);
      if (found === undefined) into.set(id, [{ partition, offset }]);
      else found.push({ partition, offset });
    }
  }
}

/** The positions in batch order (undefined where none was noted). */
export function positionsOf(batch: readonly Envelope[], noted: PositionsById): SentPositions {
  return batch.map((envelope) => noted.get(envelope.id)?.shift());
}
