// The Flume Avro path's pure parts: Avro's Netty frames cut from any split or merge of the byte
// stream, garbage refused at once with bounded memory, the AvroFlumeEvent made from an envelope (and
// encoded by avsc as the source's schema reads it), and what classify makes of the new errors. The
// proof against a real agent is test/integration/flume-sink.test.ts.
import { Type } from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope/envelope';
import { SinkError } from '../../src/errors';
import { AVRO_SOURCE_PROTOCOL, avroFlumeEvent, eventBytes } from '../../src/sinks/flume/avro';
import { parseAvroEndpoint } from '../../src/sinks/flume/config';
import { classifyFlumeError, FlumeEventTooLargeError, FlumeRpcError, FlumeStatusError, FlumeUnreachableError } from '../../src/sinks/flume/classify';
import { encodePack, FlumeProtocolError, MAX_BUFFER_BYTES, type NettyPack, NettyDecoder } from '../../src/sinks/flume/netty-frames';

/** Feeds `chunks` to a decoder: the packs it gave, and the error it failed with (if any). */
async function decode(chunks: Buffer[]): Promise<{ packs: NettyPack[]; error: Error | undefined }> {
  const decoder = new NettyDecoder();
  const packs: NettyPack[] = [];
  decoder.on('data', (pack: NettyPack) => packs.push(pack));
  const error = await new Promise<Error | undefined>((done) => {
    decoder.once('error', done);
    decoder.once('end', () => done(undefined));
    for (const chunk of chunks) decoder.write(chunk);
    decoder.end();
  });
  return { packs, error };
}

const normal = (packs: NettyPack[]) => packs.map(({ id, payload }) => ({ id, payload: payload.map((buffer) => buffer.toString('hex')) }));

const packArbitrary = fc.record({
  id: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  payload: fc.array(fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)), { maxLength: 5 }),
});

describe('Netty frames', () => {
  it('lays a pack out as serial, count, then each buffer after its length, big-endian', () => {
    expect(encodePack({ id: 7, payload: [Buffer.from('ab'), Buffer.alloc(0)] }).toString('hex')).toBe('00000007' + '00000002' + '00000002' + '6162' + '00000000');
  });

  it('cuts the same packs from any split of the stream into chunks, packs merged into one chunk included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(packArbitrary, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 12 }), async (packs, cuts) => {
        const stream = Buffer.concat(packs.map(encodePack));
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, stream.length].slice(1).map((end, n, ends) => stream.subarray(n === 0 ? 0 : ends[n - 1]!, end));
        const { packs: decoded, error } = await decode(chunks);
        expect(error).toBeUndefined();
        expect(normal(decoded)).toEqual(normal(packs));
      }),
    );
  });

  it('takes a stream one byte at a time', async () => {
    const packs = [
      { id: 1, payload: [Buffer.from('handshake'), Buffer.from([0, 0, 0])] },
      { id: 2, payload: [Buffer.alloc(300, 9)] },
    ];
    const stream = Buffer.concat(packs.map(encodePack));
    const { packs: decoded } = await decode([...stream].map((byte) => Buffer.from([byte])));
    expect(normal(decoded)).toEqual(normal(packs));
  });

  it('refuses a peer that is not an Avro source at once, holding nothing: an HTTP answer, a negative or huge length', async () => {
    const http = await decode([Buffer.from('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')]);
    expect(http.error).toBeInstanceOf(FlumeProtocolError);
    expect(http.error!.message).toMatch(/a pack of \d+ buffers/);
    const negative = await decode([Buffer.from('00000001' + '00000001' + 'ffffffff', 'hex')]);
    expect(negative.error!.message).toMatch(/a buffer of -1 bytes/);
    const huge = Buffer.alloc(12);
    huge.writeInt32BE(1, 4);
    huge.writeInt32BE(MAX_BUFFER_BYTES + 1, 8);
    expect((await decode([huge])).error).toMatchObject({ code: 'FLUME_PROTOCOL' });
  });

  it('fails a stream that ends inside a pack', async () => {
    const whole = encodePack({ id: 3, payload: [Buffer.from('status')] });
    const { packs, error } = await decode([whole, whole.subarray(0, whole.length - 2)]);
    expect(packs).toHaveLength(1);
    expect(error).toMatchObject({ code: 'FLUME_PROTOCOL' });
  });
});

describe('AvroFlumeEvent', () => {
  const envelope: Envelope = {
    id: '0190b1a2-0000-7000-8000-000000000001',
    topic: 'web.clicks',
    key: 'k',
    ts: 1_767_323_045_678,
    ip: '10.0.0.1',
    host: 'ingest-1',
    headers: { origin: 'web' },
    type: 'binary',
    data: Buffer.from([0, 0xff, 0x0a]),
  };

  it('has the headers the HTTP path gives, and the body as its bytes (no base64), as the source schema reads it', () => {
    const event = avroFlumeEvent(envelope);
    expect(event).toEqual({ headers: { origin: 'web', 'sparkngin.id': envelope.id, topic: 'web.clicks', host: 'ingest-1', timestamp: '1767323045678', key: 'k' }, body: Buffer.from([0, 0xff, 0x0a]) });
    const schema = Type.forSchema(AVRO_SOURCE_PROTOCOL.types[1] as never, { registry: {}, namespace: AVRO_SOURCE_PROTOCOL.namespace });
    expect(schema.fromBuffer(schema.toBuffer(event))).toEqual(event);
    expect(eventBytes(event)).toBe(3 + Object.entries(event.headers).reduce((sum, [name, value]) => sum + name.length + value.length, 0));
  });

  it('reads HOST:PORT and [IPv6]:PORT endpoints', () => {
    expect(parseAvroEndpoint('127.0.0.1:41414')).toEqual({ host: '127.0.0.1', port: 41414 });
    expect(parseAvroEndpoint('[::1]:41414')).toEqual({ host: '::1', port: 41414 });
  });
});

describe('classifyFlumeError (Avro)', () => {
  it('retries FAILED, UNKNOWN, an unreachable agent, garbage and the agent\'s error answers; an event over maxEventBytes is permanent', () => {
    const wrap = (error: Error) => new SinkError('flume', error.message, { cause: error });
    expect(classifyFlumeError(wrap(new FlumeStatusError('FAILED')))).toBe('retriable');
    expect(classifyFlumeError(wrap(new FlumeStatusError('UNKNOWN')))).toBe('retriable');
    expect(classifyFlumeError(wrap(new FlumeUnreachableError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))))).toBe('retriable');
    expect(classifyFlumeError(wrap(new FlumeProtocolError('a pack of 791751985 buffers')))).toBe('retriable');
    // avsc failing to decode garbage throws a RangeError: kept as a message, not as a bug of ours.
    expect(classifyFlumeError(wrap(new FlumeRpcError(new RangeError('offset out of range').message)))).toBe('retriable');
    expect(classifyFlumeError(wrap(new FlumeEventTooLargeError('id', 20, 10)))).toBe('permanent');
  });
});
