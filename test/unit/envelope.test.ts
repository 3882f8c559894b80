import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, decodeLike, encodeEnvelope, encodeEnvelopes, EnvelopeDecodeError, peekTopic } from '../../src/envelope/codec-binary';
import { envelopeToJson } from '../../src/envelope/codec-json';
import { type Envelope, MAX_PARTITION, newEventId, newHeaders } from '../../src/envelope/envelope';

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'];

const arbitraryEnvelope = fc.record({
  id: fc.constant(null).map(() => newEventId()),
  topic: fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/),
  key: fc.option(fc.string(), { nil: undefined }),
  ts: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  sts: fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 }), { nil: undefined }),
  ip: fc.oneof(fc.ipV4(), fc.ipV6()),
  host: fc.string({ maxLength: 60 }),
  // Names are the client's: those of Object.prototype's members are drawn on purpose (they once made
  // this property fail now and then, when fast-check happened to draw `__proto__`).
  headers: fc.dictionary(fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ minLength: 1, maxLength: 20 })), fc.string()),
  type: fc.constantFrom('json' as const, 'text' as const, 'binary' as const),
  data: fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes)),
  partition: fc.option(fc.oneof(fc.constantFrom(0, MAX_PARTITION), fc.integer({ min: 0, max: MAX_PARTITION })), { nil: undefined }),
});

const withoutUndefined = (envelope: Envelope) => JSON.parse(JSON.stringify({ ...envelope, data: envelope.data.toString('base64') }));

describe('envelope', () => {
  it('ids are unique and sort in creation order', () => {
    const ids = Array.from({ length: 2000 }, newEventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('binary encoding round-trips every field', () => {
    fc.assert(
      fc.property(arbitraryEnvelope, (envelope) => {
        const decoded = decodeEnvelope(encodeEnvelope(envelope));
        expect(withoutUndefined(decoded)).toEqual(withoutUndefined(envelope));
      }),
    );
  });

  it('a strict read takes everything the codec writes', () => {
    fc.assert(
      fc.property(arbitraryEnvelope, (envelope) => {
        expect(withoutUndefined(decodeEnvelope(encodeEnvelope(envelope), true))).toEqual(withoutUndefined(decodeEnvelope(encodeEnvelope(envelope))));
      }),
    );
  });

  it('a request\'s envelopes encoded together are byte for byte those encoded one by one', () => {
    // Envelopes of one request share their fields but the id and data; shared and changed fields mixed.
    const request = fc.tuple(arbitraryEnvelope, fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.option(arbitraryEnvelope)), { maxLength: 8 }));
    fc.assert(
      fc.property(request, ([first, rest]) => {
        const envelopes = [first, ...rest.map(([data, other]) => ({ ...(other ?? first), id: newEventId(), data: Buffer.from(data) }))];
        expect(encodeEnvelopes(envelopes)).toEqual(envelopes.map(encodeEnvelope));
      }),
    );
  });

  it('keeps headers named like Object.prototype members as headers, in both codecs', () => {
    const headers = newHeaders();
    for (const name of PROTOTYPE_NAMES) headers[name] = `value of ${name}`;
    const envelope: Envelope = { id: newEventId(), topic: 't', ts: 1, ip: '::1', host: 'h', headers, type: 'text', data: Buffer.from('x') };
    const decoded = decodeEnvelope(encodeEnvelope(envelope));
    expect(Object.getPrototypeOf(decoded.headers)).toBeNull();
    expect(Object.entries(decoded.headers)).toEqual(PROTOTYPE_NAMES.map((name) => [name, `value of ${name}`]));
    expect(Object.entries(JSON.parse(envelopeToJson(envelope)).headers)).toEqual(Object.entries(decoded.headers));
  });

  it('refuses truncated or unknown-version bytes with a typed error', () => {
    const bytes = encodeEnvelope({ id: newEventId(), topic: 't', ts: 1, ip: '::1', host: 'h', headers: {}, type: 'text', data: Buffer.from('hello') });
    expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 2))).toThrow(EnvelopeDecodeError);
    const other = Buffer.from(bytes);
    other[0] = 9;
    expect(() => decodeEnvelope(other)).toThrow(/unknown envelope version 9/);
  });

  it('JSON encoding embeds json payloads, keeps text as a string and binary as base64', () => {
    const base = { id: newEventId(), topic: 'clicks', key: 'u1', ts: 1700000000000, ip: '127.0.0.1', host: 'h', headers: { a: 'b' } };
    expect(JSON.parse(envelopeToJson({ ...base, type: 'json', data: Buffer.from('{"user":42}') }))).toEqual({ ...base, type: 'json', data: { user: 42 } });
    expect(JSON.parse(envelopeToJson({ ...base, type: 'text', data: Buffer.from('line "1"') })).data).toBe('line "1"');
    expect(JSON.parse(envelopeToJson({ ...base, type: 'binary', data: Buffer.from([0, 255]) })).data).toBe('AP8=');
  });

  describe('partition (flags bit 2, a u32 trailer after the payload)', () => {
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    const idHex = '01890a5dac96774bbcceb302099a8057';
    const ts = Buffer.alloc(8);
    ts.writeDoubleLE(1_700_000_000_000);
    // README.md's example: a text event `hi`, topic t, ip ::1, host h, no key, time or headers.
    const example: Envelope = { id, topic: 't', ts: 1_700_000_000_000, ip: '::1', host: 'h', headers: newHeaders(), type: 'text', data: Buffer.from('hi') };
    const before = Buffer.from(`010100${idHex}${ts.toString('hex')}0174033a3a31016800000200000068 69`.replace(/ /g, ''), 'hex');

    it('an envelope without a partition is byte for byte what the codec wrote before it (a spool from before reads)', () => {
      expect(encodeEnvelope(example)).toEqual(before);
      expect(decodeEnvelope(before, true)).toEqual({ ...example, data: Buffer.from('hi') });
    });

    it('an envelope with one is the same bytes with bit 2 set and the partition after the payload', () => {
      const bytes = encodeEnvelope({ ...example, partition: 0x01020304 });
      expect(bytes.length).toBe(before.length + 4);
      expect(bytes[2]).toBe(4);
      expect(bytes.subarray(3, before.length)).toEqual(before.subarray(3));
      expect(bytes.subarray(before.length).toString('hex')).toBe('04030201');
      expect(decodeEnvelope(bytes, true).partition).toBe(0x01020304);
      expect(JSON.parse(envelopeToJson({ ...example, partition: 2 })).partition).toBe(2);
    });

    it('a daemon from before (lenient read: unknown flag bits and bytes after the payload ignored) reads every other field', () => {
      fc.assert(
        fc.property(arbitraryEnvelope, fc.integer({ min: 0, max: MAX_PARTITION }), (envelope, partition) => {
          const bytes = encodeEnvelope({ ...envelope, partition });
          // The old decoder is this one minus bit 2: clear it and read leniently, as it did.
          const old = Buffer.from(bytes);
          old[2] = old[2]! & ~4;
          const read = decodeEnvelope(old);
          expect(withoutUndefined(read)).toEqual(withoutUndefined({ ...envelope, partition: undefined }));
          expect(peekTopic(bytes)).toBe(envelope.topic);
        }),
      );
    });

    it('a strict read refuses a partition past 2^31 - 1, a cut trailer and bytes after it', () => {
      const bytes = encodeEnvelope({ ...example, partition: 7 });
      const tooBig = Buffer.from(bytes);
      tooBig.writeUInt32LE(MAX_PARTITION + 1, tooBig.length - 4);
      expect(() => decodeEnvelope(tooBig, true)).toThrow(/partition 2147483648 is not a Kafka partition/);
      expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1), true)).toThrow(EnvelopeDecodeError);
      expect(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1))).toThrow(EnvelopeDecodeError);
      expect(() => decodeEnvelope(Buffer.concat([bytes, Buffer.from([0])]), true)).toThrow(/1 bytes after the partition/);
      // Without the flag, the 4 bytes are bytes after the payload.
      const unflagged = Buffer.from(bytes);
      unflagged[2] = 0;
      expect(() => decodeEnvelope(unflagged, true)).toThrow(/4 bytes after the payload/);
    });

    it('envelopes alike read each their own partition (decodeLike), as the strict read does', () => {
      fc.assert(
        fc.property(arbitraryEnvelope, fc.array(fc.tuple(fc.integer({ min: 0, max: MAX_PARTITION }), fc.uint8Array({ maxLength: 20 })), { minLength: 1, maxLength: 5 }), (first, rest) => {
          const model = { ...first, partition: 1 };
          const modelBytes = encodeEnvelope(model);
          const decodedModel = decodeEnvelope(modelBytes, true);
          for (const [partition, data] of rest) {
            const bytes = encodeEnvelope({ ...model, id: newEventId(), partition, data: Buffer.from(data) });
            expect(withoutUndefined(decodeLike(bytes, decodedModel, modelBytes)!)).toEqual(withoutUndefined(decodeEnvelope(bytes, true)));
            // One without a partition is not like a model with one (its flags differ).
            expect(decodeLike(encodeEnvelope({ ...model, partition: undefined }), decodedModel, modelBytes)).toBeUndefined();
          }
        }),
      );
    });
  });
});
