// The sink's record encoding (src/sinks/kafka/record.ts: each record's key, value and headers
// encoded once by the sink, `KafkaRecord.record`) and the patched kafkajs writing a batch's records
// from them into one Buffer (patches/kafkajs+2.2.4.patch, recordTails.js): for any records, the
// produce request's bytes equal those kafkajs's own encoder makes of the same records given as
// plain messages (key, value, the headers object of recordHeaders, timestamp), with every codec.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import SnappyCodec from 'kafkajs-snappy';
import { describe, expect, it } from 'vitest';
import type { Envelope, EventType } from '../../src/envelope/envelope';
import { newHeaders } from '../../src/envelope/envelope';
import { kafkaKind } from '../../src/sinks/kafka/config';
import { type KafkaRecord, recordHeaders, toKafkaRecord } from '../../src/sinks/kafka/record';

const require = createRequire(import.meta.url);
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request');
const { Codecs, Types } = require('kafkajs/src/protocol/message/compression');
const Long = require('kafkajs/src/utils/long');
Codecs[Types.Snappy] = SnappyCodec;

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ minLength: 60, maxLength: 300 }));
// Receive times of 13 digits (2001 to 2286): kafkajs orders timestamps as text, the patch as numbers.
const ts = fc.oneof(fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 }), fc.double({ min: 1_000_000_000_000, max: 9_999_999_999_998, noNaN: true }));
const headerName = fc.oneof(text, fc.constantFrom('sparkngin-id', 'sparkngin-ts', 'sparkngin-sts', '0', '17', 'nw-data-type'));
const envelope: fc.Arbitrary<Envelope> = fc
  .record({
    id: fc.uuid(),
    topic: fc.constantFrom('a', 'b'),
    key: fc.option(text, { nil: undefined }),
    ts,
    sts: fc.option(ts, { nil: undefined }),
    ip: text,
    host: text,
    headers: fc.array(fc.tuple(headerName, text), { maxLength: 6 }),
    type: fc.constantFrom<EventType>('json', 'text', 'binary'),
    partition: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    data: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 200, maxLength: 5000 })),
  })
  .map(({ key, sts, partition, headers, data, ...fields }) => {
    const e: Envelope = { ...fields, headers: Object.assign(newHeaders(), Object.fromEntries(headers)), data: Buffer.from(data) };
    if (key !== undefined) e.key = key;
    if (sts !== undefined) e.sts = sts;
    if (partition !== undefined) e.partition = partition;
    return e;
  });

/** Envelopes of which some share the fields of the one before (the same objects, as the dispatcher's decodeLike gives a request's envelopes). */
// (1: all of them; 2: all but the client's time and the receive time.)
const batch = fc.array(fc.tuple(envelope, fc.constantFrom(0, 1, 2)), { minLength: 1, maxLength: 30 }).map((pairs) =>
  pairs.map(([e, how], i) => {
    const before = pairs[i - 1]?.[0];
    if (before === undefined || how === 0) return e;
    const like: Envelope = { ...e, headers: before.headers, ip: before.ip, host: before.host, type: before.type };
    if (how === 1) {
      like.ts = before.ts;
      if (before.sts === undefined) delete like.sts;
      else like.sts = before.sts;
    }
    pairs[i]![0] = like;
    return like;
  }),
);

async function requestBytes(messages: object[], compression: number): Promise<Buffer> {
  const request = produceV3({
    acks: -1,
    timeout: 30_000,
    compression,
    producerId: Long.fromNumber(4711),
    producerEpoch: 3,
    topicData: [{ topic: 't', partitions: [{ partition: 1, firstSequence: 42, messages }] }],
  });
  return (await request.encode()).buffer;
}

describe('the Kafka sink\'s record encoding', () => {
  for (const value of ['payload', 'envelope'] as const) {
    it(`writes the bytes kafkajs's own encoder writes for the same records (value: ${value}, every codec)`, async () => {
      const config = { ...kafkaKind.defaults(), value };
      await fc.assert(
        fc.asyncProperty(batch, fc.constantFrom(Types.None, Types.GZIP, Types.Snappy), async (envelopes, compression) => {
          const ours: KafkaRecord[] = envelopes.map((e) => toKafkaRecord(config, e));
          const theirs = envelopes.map((e, i) => ({ key: e.key ?? null, value: ours[i]!.value, headers: recordHeaders(e), timestamp: String(Math.trunc(e.ts)) }));
          expect(ours.every((record) => Buffer.isBuffer(record.record))).toBe(true);
          expect(await requestBytes(ours, compression)).toEqual(await requestBytes(theirs, compression));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('writes a record larger than an arena (256 KiB) and those around it alike', async () => {
    const config = kafkaKind.defaults();
    const small = (text: string): Envelope => ({ id: '0193a5b2-7c4e-7d3a-9f1b-2c3d4e5f6a7b', topic: 'a', key: 'é'.repeat(600), ts: 1764600000000, ip: '127.0.0.1', host: 'h', headers: newHeaders(), type: 'text', data: Buffer.from(text) });
    const envelopes = [small('before'), { ...small(''), data: Buffer.alloc(300_000, 7) }, small('after'), { ...small(''), data: Buffer.alloc(200_000, 9) }, small('last')];
    const ours = envelopes.map((e) => toKafkaRecord(config, e));
    const theirs = envelopes.map((e) => ({ key: e.key, value: e.data, headers: recordHeaders(e), timestamp: '1764600000000' }));
    expect(await requestBytes(ours, Types.None)).toEqual(await requestBytes(theirs, Types.None));
  });

  it('keeps the id, key, partition and timestamp kafkajs and the guard read, and no header object', () => {
    const e: Envelope = { id: '0193a5b2-7c4e-7d3a-9f1b-2c3d4e5f6a7b', topic: 'a', key: 'k', ts: 1764600000000.5, ip: '127.0.0.1', host: 'h', headers: newHeaders(), type: 'json', data: Buffer.from('{}'), partition: 2 };
    const record = toKafkaRecord(kafkaKind.defaults(), e);
    expect({ ...record, record: undefined }).toEqual({ key: 'k', value: e.data, timestamp: '1764600000000', id: e.id, partition: 2, record: undefined });
  });
});
