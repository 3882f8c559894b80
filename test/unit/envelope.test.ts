import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, encodeEnvelopes, EnvelopeDecodeError } from '../../src/envelope/codec-binary';
import { envelopeToJson } from '../../src/envelope/codec-json';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';

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
});
