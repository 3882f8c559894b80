// NW1 envelopes over HTTP (src/ingest/nw1.ts, layout in src/envelope/README.md), through a real
// ingest server (ingest-harness.ts): the client's ids, types, keys, times and headers are kept, the
// server sets receive time, address and host, and every malformed or dishonest body is a 400 that
// stores nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, encodeEnvelopes, receivedRecords } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes, NW1_CONTENT_TYPE, readFrames } from '../../src/envelope/nw1';
import { NOW, sendTo, serverPerFile } from './ingest-harness';

const h = serverPerFile({ maxEventsPerRequest: 50 });

function event(fields: Partial<Envelope> = {}): Envelope {
  return { id: newEventId(), topic: 'orders', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json', data: Buffer.from('{"n":1}'), ...fields };
}

const postBody = (body: Buffer, query = '', headers: Record<string, string> = {}, topic = 'orders') =>
  sendTo(h.url, `/v1/topics/${topic}${query}`, { method: 'POST', headers: { 'content-type': NW1_CONTENT_TYPE, ...headers }, body });

const postEnvelopes = (envelopes: Envelope[], query = '', headers: Record<string, string> = {}) => postBody(frameEnvelopes(envelopes.map(encodeEnvelope)), query, headers);

describe('POST /v1/topics/{topic} with NW1 envelopes', () => {
  it("keeps each event's own id, type, key, client time, partition and headers; sets receive time, address and host", async () => {
    const headers = newHeaders();
    headers['trace-id'] = 'abc';
    headers['constructor'] = 'a header like any other';
    const sent = [
      event({ key: 'customer-7', sts: 1_700_000_000_000, headers }),
      event({ type: 'text', data: Buffer.from('line one\nline two ü') }),
      event({ type: 'binary', data: Buffer.from([0, 255, 10, 13]) }),
      event({ type: 'binary', data: Buffer.alloc(0) }),
      event({ key: 'customer-7', partition: 2 }),
    ];
    const answer = await postEnvelopes(sent, '?ack=sink');
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ accepted: 5, ids: sent.map((e) => e.id) });
    expect(h.target.calls[0]!.ack).toBe('sink');
    expect(h.target.events).toEqual(sent.map((e) => ({ ...e, ts: NOW, ip: '127.0.0.1', host: 'ingest-test' })));
    expect(Object.getPrototypeOf(h.target.events[0]!.headers)).toBeNull();
  });

  it('takes a charset label on the body as meaningless, and any valid batch up to the event limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.option(fc.string({ minLength: 1, maxLength: 50 }), { nil: undefined }), text: fc.string() }), { minLength: 1, maxLength: 50 }), async (drawn) => {
        h.target.reset();
        const sent = drawn.map(({ key, text }) => event({ key, type: 'text', data: Buffer.from(text) }));
        const answer = await postEnvelopes(sent, '', { 'content-type': `${NW1_CONTENT_TYPE}; charset=utf-8` });
        expect(answer.status).toBe(202);
        expect(h.target.events.map((e) => [e.id, e.key, e.data.toString()])).toEqual(sent.map((e) => [e.id, e.key, e.data.toString()]));
      }),
      { numRuns: 20 },
    );
  });

  it('answers any damaged body with 400 (never 500, never a partial store); what it takes is exactly what the bytes say', async () => {
    const valid = frameEnvelopes([event({ key: 'k' }), event({ type: 'text', data: Buffer.from('tëxt') }), event({ headers: Object.assign(newHeaders(), { a: 'b' }) })].map(encodeEnvelope));
    const damage = fc.oneof(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const out = Buffer.from(valid);
        for (const [at, byte] of flips) out[at] = byte;
        return out;
      }),
      fc.nat(valid.length - 1).map((cut) => valid.subarray(0, cut)),
      fc.tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, bytes]) => Buffer.concat([valid.subarray(0, at), Buffer.from(bytes), valid.subarray(at)])),
    );
    await fc.assert(
      fc.asyncProperty(damage, async (body) => {
        h.target.reset();
        const answer = await postBody(body);
        expect([202, 400]).toContain(answer.status);
        if (answer.status === 400) {
          expect(answer.body.error.code).toMatch(/^(INVALID_ENVELOPE|EMPTY_BODY)$/);
          expect(h.target.calls).toHaveLength(0);
        } else {
          const said = readFrames(body, 100, () => new Error('too many'));
          // The records the route made by splicing are the bytes the encoder makes of what was stored.
          const [call] = h.target.calls;
          expect(call!.options?.records).toEqual(encodeEnvelopes(call!.envelopes));
          expect(h.target.events.map((e) => [e.id, e.type, e.key, e.sts, { ...e.headers }, e.data])).toEqual(said.map((e) => [e.id, e.type, e.key, e.sts, { ...e.headers }, e.data]));
          expect(answer.body.ids).toEqual(said.map((e) => e.id));
        }
      }),
      { numRuns: 60 },
    );
  });

  const refusals: Array<[string, () => Promise<{ status: number; body: any }>, RegExp]> = [
    ['a body without the magic', () => postBody(Buffer.from('{"n":1}')), /magic/],
    ['a body with the magic and nothing else', () => postBody(Buffer.from('SNW1')), /no envelope/],
    ['a frame cut short', () => postBody(frameEnvelopes([encodeEnvelope(event())]).subarray(0, 30)), /announced/],
    ['a length cut short', () => postBody(Buffer.concat([frameEnvelopes([encodeEnvelope(event())]), Buffer.from([1, 0])])), /ends inside its length/],
    ['an envelope with bytes after its payload', () => postBody(frameEnvelopes([Buffer.concat([encodeEnvelope(event()), Buffer.from('x')])])), /1 bytes after the payload/],
    ['text that is not UTF-8', () => postEnvelopes([event({ type: 'text', data: Buffer.from([0xc3, 0x28]) })]), /UTF-8/],
    ['a key that is not UTF-8', () => postBody(frameEnvelopes([utf8Broken(encodeEnvelope(event({ key: 'kü' })), 'kü')])), /not UTF-8/],
    ['unknown flags', () => postBody(frameEnvelopes([flagged(encodeEnvelope(event()), 8)])), /unknown flags 8/],
    ['a json payload that is not JSON', () => postEnvelopes([event({ data: Buffer.from('{nope') })]), /not JSON/],
    ['a json payload with a raw line break', () => postEnvelopes([event({ data: Buffer.from('{\n"n":1}') })]), /one line/],
    ['another topic than the path', () => postEnvelopes([event(), event({ topic: 'other' })]), /envelope 2: its topic 'other'/],
    ['a receive time', () => postEnvelopes([event({ ts: 5 })]), /set by the server/],
    ['a client address', () => postEnvelopes([event({ ip: '10.0.0.1' })]), /set by the server/],
    ['a host', () => postEnvelopes([event({ host: 'forged' })]), /set by the server/],
    ['an id that is no UUIDv7', () => postEnvelopes([event({ id: '6f9619ff-8b86-4011-b42d-00c04fc964ff' })]), /UUIDv7/],
    ['an empty key', () => postEnvelopes([event({ key: '' })]), /key is empty/],
    ['a partition past 2^31 - 1', () => postBody(frameEnvelopes([withPartition(encodeEnvelope(event({ partition: 1 })), 0x80000000)])), /partition 2147483648 is not a Kafka partition/],
    ['a client time with a fraction', () => postEnvelopes([event({ sts: 1.5 })]), /whole milliseconds/],
    ['an upper-case header name', () => postEnvelopes([event({ headers: Object.assign(newHeaders(), { Trace: 'x' }) })]), /lower-case/],
    ['a key parameter beside the envelopes', () => postEnvelopes([event()], '?key=k'), /leave key out/],
    ['an event header beside the envelopes', () => postEnvelopes([event()], '', { 'x-sparkngin-header-a': 'b' }), /X-Sparkngin-Header/],
  ];
  for (const [what, post, message] of refusals) {
    it(`refuses ${what} with 400 INVALID_ENVELOPE, storing nothing`, async () => {
      const answer = await post();
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('INVALID_ENVELOPE');
      expect(answer.body.error.message).toMatch(message);
      expect(h.target.calls).toHaveLength(0);
    });
  }

  it('refuses a header name given twice (the decoder would keep one) and more events than the limit', async () => {
    const once = encodeEnvelope(event({ headers: Object.assign(newHeaders(), { aa: '1', ab: '2' }) }));
    const twice = Buffer.from(once.toString('latin1').replace('\u0002\u0000ab', '\u0002\u0000aa'), 'latin1');
    const answer = await postBody(frameEnvelopes([twice]));
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/'aa' is given twice/);
    const tooMany = await postEnvelopes(Array.from({ length: 51 }, () => event()));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error.code).toBe('TOO_MANY_EVENTS');
    expect(h.target.calls).toHaveLength(0);
  });
});

/** The encoding of an envelope whose `text` (a key or header) has its UTF-8 bytes replaced by invalid ones of the same length. */
function utf8Broken(encoded: Buffer, text: string): Buffer {
  const bytes = Buffer.from(text);
  const at = encoded.indexOf(bytes);
  const out = Buffer.from(encoded);
  out[at + bytes.length - 1] = 0x28; // the second byte of 'ü' becomes '(' : C3 28 is not UTF-8
  return out;
}

describe('readFrames', () => {
  /** Each frame decoded on its own (decodeEnvelope, strict), without the sharing readFrames does between alike envelopes. */
  function framesOneByOne(body: Buffer): Envelope[] {
    const out: Envelope[] = [];
    if (body.toString('latin1', 0, 4) !== 'SNW1') throw new Error('no magic');
    for (let at = 4; at < body.length; ) {
      if (at + 4 > body.length) throw new Error('cut length');
      const length = body.readUInt32LE(at);
      if (at + 4 + length > body.length) throw new Error('cut frame');
      out.push(decodeEnvelope(body.subarray(at + 4, at + 4 + length), true));
      at += 4 + length;
    }
    if (out.length === 0) throw new Error('no envelope');
    return out;
  }
  const fields = (e: Envelope) => [e.id, e.type, e.topic, e.key, e.ts, e.sts, e.ip, e.host, { ...e.headers }, e.data, e.partition];

  it('reads envelopes alike (shared fields decoded once) exactly as each alone, damaged or not', () => {
    const headers = Object.assign(newHeaders(), { trace: 'x' });
    const alike = (fields: Partial<Envelope>) => event({ key: 'k', sts: 5, headers, ...fields });
    const valid = frameEnvelopes(
      [
        alike({}),
        alike({ data: Buffer.from('{"n":2}') }),
        alike({ type: 'text', data: Buffer.from('t') }),
        alike({ key: 'l' }),
        alike({}),
        alike({ partition: 2 }),
        alike({ partition: 0 }),
        alike({ partition: 2, data: Buffer.from('{"n":3}') }),
        event(),
        event(),
      ].map(encodeEnvelope),
    );
    const damaged = fc.oneof(
      fc.constant(valid),
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((flips) => {
        const out = Buffer.from(valid);
        for (const [at, byte] of flips) out[at] = byte;
        return out;
      }),
    );
    fc.assert(
      fc.property(damaged, (body) => {
        let expected: Envelope[] | undefined;
        try {
          expected = framesOneByOne(body);
        } catch {
          expected = undefined;
        }
        let read: Envelope[] | undefined;
        const frames: Buffer[] = [];
        try {
          read = readFrames(body, 100, () => new Error('too many'), frames);
        } catch {
          read = undefined;
        }
        expect(read?.map(fields)).toEqual(expected?.map(fields));
        if (read !== undefined) expect(receivedRecords(read, frames, SERVER)).toEqual(encodeEnvelopes(read.map((e) => ({ ...e, ...SERVER }))));
      }),
      { numRuns: 300 },
    );
    const read = readFrames(valid, 100, () => new Error('too many'));
    expect(read[1]!.headers).toBe(read[0]!.headers);
    expect(read.map((e) => e.key)).toEqual(['k', 'k', 'k', 'l', 'k', 'k', 'k', 'k', undefined, undefined]);
    expect(read.map((e) => e.partition)).toEqual([undefined, undefined, undefined, undefined, undefined, 2, 0, 2, undefined, undefined]);
    expect(read[7]!.headers).toBe(read[5]!.headers);
  });
});

describe('receivedRecords', () => {
  it('makes byte for byte the records encodeEnvelopes makes of the envelopes with the server fields set', () => {
    const headerSets = [newHeaders(), Object.assign(newHeaders(), { trace: 'x', 'ü-name': 'välue' })];
    const drawn = fc.record({
      key: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
      sts: fc.option(fc.nat(), { nil: undefined }),
      partition: fc.option(fc.nat(10), { nil: undefined }),
      headers: fc.nat(1),
      type: fc.constantFrom('json', 'text', 'binary'),
    });
    // Runs of alike envelopes (what readFrames shares) and envelopes unlike the one before.
    const batch = fc.array(fc.tuple(drawn, fc.nat(3)), { minLength: 1, maxLength: 12 });
    const server = fc.record({ ts: fc.double({ noNaN: true }), ip: fc.string({ maxLength: 300 }), host: fc.string({ unit: 'grapheme', maxLength: 300 }) });
    fc.assert(
      fc.property(batch, server, (runs, fields) => {
        const sent = runs.flatMap(([{ key, sts, partition, headers, type }, copies]) =>
          Array.from({ length: copies + 1 }, (_, n) => {
            const data = type === 'json' ? Buffer.from(`{"n":${n}}`) : type === 'text' ? Buffer.from(`t${n}ü`) : Buffer.from([n, 0, 255]);
            return event({ key, sts, partition, headers: headerSets[headers]!, type: type as Envelope['type'], data });
          }),
        );
        const frames: Buffer[] = [];
        const read = readFrames(frameEnvelopes(sent.map(encodeEnvelope)), 100, () => new Error('too many'), frames);
        expect(receivedRecords(read, frames, fields)).toEqual(encodeEnvelopes(read.map((e) => ({ ...e, ...fields }))));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the byte layout in src/envelope/README.md', () => {
  it('is what the codec writes: its worked example, and the NW1 body around it', () => {
    const envelope: Envelope = { id: '01890a5d-ac96-7abc-8def-0123456789ab', topic: 't', ts: NOW, ip: '::1', host: 'h', headers: newHeaders(), type: 'text', data: Buffer.from('hi') };
    const ts = Buffer.alloc(8);
    ts.writeDoubleLE(NOW);
    const expected = Buffer.concat([
      Buffer.from([1, 1, 0]),
      Buffer.from('01890a5dac967abc8def0123456789ab', 'hex'),
      ts,
      Buffer.from('01 74 03 3a 3a 31 01 68 00 00 02 00 00 00 68 69'.replaceAll(' ', ''), 'hex'),
    ]);
    expect(expected).toHaveLength(43);
    expect(encodeEnvelope(envelope)).toEqual(expected);
    expect(frameEnvelopes([expected])).toEqual(Buffer.concat([Buffer.from('SNW1'), Buffer.from([43, 0, 0, 0]), expected]));
  });
});

const SERVER = { ts: NOW, ip: '127.0.0.1', host: 'ingest-test' };

function flagged(encoded: Buffer, flags: number): Buffer {
  const out = Buffer.from(encoded);
  out[2] = flags;
  return out;
}

/** The envelope with its partition trailer (it must have one) set to `partition`, which the codec would not write. */
function withPartition(encoded: Buffer, partition: number): Buffer {
  const out = Buffer.from(encoded);
  out.writeUInt32LE(partition, out.length - 4);
  return out;
}
