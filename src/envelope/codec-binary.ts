// Compact binary encoding of an Envelope: what the spool stores. Little-endian, fixed-width lengths
// (cheap to write on the hot path, cheap to skip when reading):
//
//   u8  version (1)        u8 type (0 json, 1 text, 2 binary)     u8 flags (1 key, 2 sts, 4 partition)
//   16  id (UUID bytes)    f64 ts                                 [f64 sts]
//   u8+ topic              [u32+ key]                             u8+ ip     u8+ host
//   u16 header count, then per header: u16+ name, u32+ value
//   u32+ data              [u32 partition]
//
// `u8+ x` is a length of that width followed by the UTF-8 bytes of x. The partition is a trailer
// after the payload, not a field beside the key, so that a daemon from before it (whose lenient read
// ignores unknown flag bits and bytes after the payload) still reads every other field right, and its
// header read (peekTopic) and the batch encoder's shared fields stay as they were (README.md).
import { isUtf8 } from 'node:buffer';
import { SparknginError } from '../errors';
import { type Envelope, type EventType, MAX_PARTITION, newHeaders } from './envelope';
import { eventIdText, writeEventIdBytes } from './id';

const VERSION = 1;
const TYPES: EventType[] = ['json', 'text', 'binary'];
const TYPE_CODE: Record<EventType, number> = { json: 0, text: 1, binary: 2 };
const FLAG_KEY = 1;
const FLAG_STS = 2;
const FLAG_PARTITION = 4;
/** Bytes of the partition trailer. */
const PARTITION_BYTES = 4;

export class EnvelopeDecodeError extends SparknginError {
  constructor(message: string) {
    super('ENVELOPE_INVALID', message);
  }
}

/** Byte length of a UTF-8 string, with the common pure-ASCII short case answered without a native call. */
export function utf8Length(text: string): number {
  if (text.length < 64) {
    let ascii = true;
    for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
    if (ascii) return text.length;
  }
  return Buffer.byteLength(text, 'utf8');
}

/** Writes a length-prefixed UTF-8 string; the caller reserved `width + length` bytes. */
function writeString(out: Buffer, at: number, text: string, length: number, width: 1 | 2 | 4): number {
  if (width === 1) out[at] = length;
  else if (width === 2) out.writeUInt16LE(length, at);
  else out.writeUInt32LE(length, at);
  at += width;
  if (length === text.length && length < 32) {
    for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i);
  } else {
    out.write(text, at, length, 'utf8');
  }
  return at + length;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function clip(text: string, max: number): string {
  if (utf8Length(text) <= max) return text;
  return Buffer.from(text, 'utf8').subarray(0, max).toString('utf8').replace(/\uFFFD$/, '');
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return assemble(envelope, encodeFields(envelope));
}

/**
 * Encodes the envelopes of one request. Everything but the id and the payload (type, times, topic,
 * key, ip, host, headers) is usually the same for all of them, so it is encoded once and copied
 * (about +10 % on NDJSON ingest, bench/RESULTS.md). Same bytes as `encodeEnvelope` each.
 */
export function encodeEnvelopes(envelopes: readonly Envelope[]): Buffer[] {
  const encoder = new EnvelopeEncoder();
  const out = new Array<Buffer>(envelopes.length);
  for (let i = 0; i < envelopes.length; i++) out[i] = encoder.encode(envelopes[i]!);
  return out;
}

/**
 * Encodes envelopes one at a time, re-using the encoded fields of the one before when they are the
 * same (see encodeEnvelopes). Same bytes as `encodeEnvelope`.
 */
export class EnvelopeEncoder {
  private previous: Envelope | undefined;
  private fields: Buffer | undefined;

  encode(envelope: Envelope): Buffer {
    if (this.previous === undefined || !sameFields(this.previous, envelope)) this.fields = encodeFields(envelope);
    this.previous = envelope;
    return assemble(envelope, this.fields!);
  }
}

function sameFields(a: Envelope, b: Envelope): boolean {
  return a.type === b.type && a.ts === b.ts && a.sts === b.sts && a.topic === b.topic && a.key === b.key && a.ip === b.ip && a.host === b.host && a.headers === b.headers;
}

function assemble(envelope: Envelope, fields: Buffer): Buffer {
  const partition = envelope.partition;
  if (partition === undefined) {
    const out = Buffer.allocUnsafe(envelopeRoom(fields.length, envelope.data));
    writeEnvelope(out, 0, envelope.type, envelopeFlags(envelope), fields, envelope.data);
    writeEventIdBytes(out, ID_AT, envelope.id);
    return out;
  }
  const out = Buffer.allocUnsafe(envelopeRoom(fields.length, envelope.data) + PARTITION_BYTES);
  const end = writeEnvelope(out, 0, envelope.type, envelopeFlags(envelope) | FLAG_PARTITION, fields, envelope.data);
  out.writeUInt32LE(partition, end);
  writeEventIdBytes(out, ID_AT, envelope.id);
  return out;
}

/** Where an envelope's 16 id bytes are. */
export const ID_AT = 3;
const FIELDS_AT = ID_AT + 16;

/** The flags byte of an envelope with these fields (the partition's bit is assemble's: writeEnvelope writes no trailer). */
export function envelopeFlags(fields: Pick<Envelope, 'key' | 'sts'>): number {
  return (fields.key === undefined ? 0 : FLAG_KEY) | (fields.sts === undefined ? 0 : FLAG_STS);
}

/** Bytes `writeEnvelope` may take for `fields` (from encodeFields) and `data` (a short string: at most 3 bytes per UTF-16 unit). */
export function envelopeRoom(fieldsLength: number, data: Uint8Array | string): number {
  const dataLength = typeof data !== 'string' ? data.length : data.length > 4096 ? Buffer.byteLength(data, 'utf8') : 3 * data.length;
  return FIELDS_AT + fieldsLength + 4 + dataLength;
}

/**
 * Writes an envelope at out[at..], all but its id (16 bytes at `at + ID_AT`, the caller's: a given
 * one, or a new one written in place): version, type, flags, the encoded fields, the payload's
 * length and the payload (a string is written as UTF-8). The caller made `envelopeRoom` bytes of
 * room. Returns the offset after the envelope.
 */
export function writeEnvelope(out: Buffer, at: number, type: EventType, flags: number, fields: Uint8Array, data: Uint8Array | string): number {
  out[at] = VERSION;
  out[at + 1] = TYPE_CODE[type];
  out[at + 2] = flags;
  out.set(fields, at + FIELDS_AT);
  const dataAt = at + FIELDS_AT + fields.length + 4;
  const length = typeof data === 'string' ? out.write(data, dataAt) : (out.set(data, dataAt), data.length);
  out.writeUInt32LE(length, dataAt - 4);
  return dataAt + length;
}

/** The fields between the id and the payload: ts, [sts], topic, [key], ip, host, headers. */
export function encodeFields(envelope: Pick<Envelope, 'ts' | 'sts' | 'topic' | 'key' | 'ip' | 'host' | 'headers'>): Buffer {
  const ip = clip(envelope.ip, 255);
  const host = clip(envelope.host, 255);
  const topicLength = utf8Length(envelope.topic);
  const keyLength = envelope.key === undefined ? 0 : utf8Length(envelope.key);
  const ipLength = utf8Length(ip);
  const hostLength = utf8Length(host);
  let size = 8 + (envelope.sts === undefined ? 0 : 8) + 1 + topicLength + (envelope.key === undefined ? 0 : 4 + keyLength);
  size += 1 + ipLength + 1 + hostLength + 2;
  let headerCount = 0;
  for (const name in envelope.headers) {
    size += 2 + utf8Length(name) + 4 + utf8Length(envelope.headers[name]!);
    headerCount++;
  }

  const out = Buffer.allocUnsafe(size);
  let at = out.writeDoubleLE(envelope.ts, 0);
  if (envelope.sts !== undefined) at = out.writeDoubleLE(envelope.sts, at);
  at = writeString(out, at, envelope.topic, topicLength, 1);
  if (envelope.key !== undefined) at = writeString(out, at, envelope.key, keyLength, 4);
  at = writeString(out, at, ip, ipLength, 1);
  at = writeString(out, at, host, hostLength, 1);
  at = out.writeUInt16LE(headerCount, at);
  for (const name in envelope.headers) {
    const value = envelope.headers[name]!;
    at = writeString(out, at, name, utf8Length(name), 2);
    at = writeString(out, at, value, utf8Length(value), 4);
  }
  return out;
}

/**
 * Decodes an envelope whose bytes between the id and the payload's length (ts, client time, topic,
 * key, ip, host, headers), version and flags are those of `model` (`decodeEnvelope(modelBytes)`, whose
 * payload is a view of `modelBytes`), or returns undefined when they are not. The result shares the model's topic, key
 * and headers (the same objects): a batch's envelopes mostly carry the same fields, so that they are
 * decoded and checked once (readFrames), as the server encodes them once per request (EnvelopeEncoder).
 * Same bytes, same result as `decodeEnvelope(bytes, true)`, which an envelope that is not like its
 * model (or not valid: every error comes from there) is left to. `id`, when given, is the text of
 * its id bytes made already (eventIdTexts: a batch's ids as one string).
 */
export function decodeLike(bytes: Buffer, model: Envelope, modelBytes: Buffer, id?: string): Envelope | undefined {
  // The partition is each envelope's own (a trailer, not one of the shared fields); the flags say whether there is one.
  const trailer = model.partition === undefined ? 0 : PARTITION_BYTES;
  // Where the model's fields end, from where its payload is in its bytes, not from their length: a
  // lenient read (the spool's) ignores bytes after the payload (a later version's), and counting
  // back from the end would then take the model's payload length and first bytes for fields, and a
  // record alike in those would be given a payload shifted into its trailing bytes.
  const fieldsEnd = model.data.byteOffset - modelBytes.byteOffset - 4;
  if (bytes.length < fieldsEnd + 4 + trailer || bytes[0] !== modelBytes[0] || bytes[2] !== modelBytes[2]) return undefined;
  const type = TYPES[bytes[1]!];
  if (type === undefined) return undefined;
  for (let i = FIELDS_AT; i < fieldsEnd; i++) if (bytes[i] !== modelBytes[i]) return undefined;
  const dataAt = fieldsEnd + 4;
  const dataEnd = dataAt + bytes.readUInt32LE(fieldsEnd);
  if (dataEnd + trailer !== bytes.length) return undefined;
  const envelope: Envelope = { id: id ?? eventIdText(bytes, ID_AT), topic: model.topic, ts: model.ts, ip: model.ip, host: model.host, headers: model.headers, type, data: bytes.subarray(dataAt, dataEnd) };
  if (model.key !== undefined) envelope.key = model.key;
  if (model.sts !== undefined) envelope.sts = model.sts;
  if (trailer !== 0) {
    const partition = bytes.readUInt32LE(dataEnd);
    if (partition > MAX_PARTITION) return undefined;
    envelope.partition = partition;
  }
  return envelope;
}

/**
 * The spool's bytes of envelopes a client made, once the server set their receive time, address and
 * host: `envelopes` as readFrames (nw1.ts) decoded them, strictly, from `frames` (ts 0, ip and host
 * empty). Each is its own bytes with the server's fields spliced in: version, type, flags and id
 * copied, then the fields between the id and the payload (encoded once for envelopes alike, which
 * share their topic, key, client time and headers), then the payload's length, the payload and the
 * partition copied. No decode and re-encode of ids, payloads or flags: strict decoding made the frame
 * exactly the encoding of its fields, so the result is byte for byte `encodeEnvelopes` of the
 * envelopes with ts, ip and host set (test/unit/ingest-nw1.test.ts compares them).
 */
export function receivedRecords(envelopes: readonly Envelope[], frames: readonly Buffer[], server: Pick<Envelope, 'ts' | 'ip' | 'host'>): Buffer[] {
  const records = new Array<Buffer>(frames.length);
  let model: Envelope | undefined;
  let fields: Buffer = EMPTY;
  for (let i = 0; i < frames.length; i++) {
    const envelope = envelopes[i]!;
    const bytes = frames[i]!;
    if (model === undefined || envelope.headers !== model.headers || envelope.topic !== model.topic || envelope.key !== model.key || envelope.sts !== model.sts) {
      model = envelope;
      fields = encodeFields({ ts: server.ts, sts: envelope.sts, topic: envelope.topic, key: envelope.key, ip: server.ip, host: server.host, headers: envelope.headers });
    }
    const fieldsEnd = bytes.length - (envelope.partition === undefined ? 0 : PARTITION_BYTES) - 4 - envelope.data.length;
    const record = Buffer.allocUnsafe(FIELDS_AT + fields.length + bytes.length - fieldsEnd);
    for (let b = 0; b < FIELDS_AT; b++) record[b] = bytes[b]!;
    record.set(fields, FIELDS_AT);
    bytes.copy(record, FIELDS_AT + fields.length, fieldsEnd);
    records[i] = record;
  }
  return records;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decodes one envelope. `strict` (for envelopes from outside: NW1 over HTTP) also refuses what the
 * lenient read would quietly change or ignore: text that is not UTF-8 (it would read as U+FFFD), a
 * header name given twice (the second would replace the first), unknown flag bits, and bytes after
 * the payload. What passes it is exactly what `encodeEnvelope` writes for the decoded fields.
 */
export function decodeEnvelope(bytes: Buffer, strict = false): Envelope {
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new EnvelopeDecodeError(`envelope truncated at byte ${at} (needs ${n} more)`);
  };
  const string = (width: 1 | 2 | 4): string => {
    need(width);
    const length = width === 1 ? bytes[at]! : width === 2 ? bytes.readUInt16LE(at) : bytes.readUInt32LE(at);
    at += width;
    need(length);
    if (strict && !isUtf8(bytes.subarray(at, at + length))) throw new EnvelopeDecodeError(`text at byte ${at} is not UTF-8`);
    const text = bytes.toString('utf8', at, at + length);
    at += length;
    return text;
  };

  need(3 + 16 + 8);
  const version = bytes[at++];
  if (version !== VERSION) throw new EnvelopeDecodeError(`unknown envelope version ${version}`);
  const type = TYPES[bytes[at++]!];
  if (type === undefined) throw new EnvelopeDecodeError(`unknown event type ${bytes[at - 1]}`);
  const flags = bytes[at++]!;
  if (strict && (flags & ~(FLAG_KEY | FLAG_STS | FLAG_PARTITION)) !== 0) throw new EnvelopeDecodeError(`unknown flags ${flags}`);
  const id = eventIdText(bytes, at);
  at += 16;
  const ts = bytes.readDoubleLE(at);
  at += 8;
  let sts: number | undefined;
  if (flags & FLAG_STS) {
    need(8);
    sts = bytes.readDoubleLE(at);
    at += 8;
  }
  const topic = string(1);
  const key = flags & FLAG_KEY ? string(4) : undefined;
  const ip = string(1);
  const host = string(1);
  need(2);
  const headerCount = bytes.readUInt16LE(at);
  at += 2;
  const headers = newHeaders();
  for (let i = 0; i < headerCount; i++) {
    const name = string(2);
    if (strict && name in headers) throw new EnvelopeDecodeError(`the header name '${name.slice(0, 60)}' is given twice`);
    headers[name] = string(4);
  }
  need(4);
  const length = bytes.readUInt32LE(at);
  at += 4;
  need(length);
  const data = bytes.subarray(at, at + length);
  at += length;
  let partition: number | undefined;
  if (flags & FLAG_PARTITION) {
    need(PARTITION_BYTES);
    partition = bytes.readUInt32LE(at);
    at += PARTITION_BYTES;
    if (strict && partition > MAX_PARTITION) throw new EnvelopeDecodeError(`partition ${partition} is not a Kafka partition (0 to ${MAX_PARTITION})`);
  }
  if (strict && at !== bytes.length) throw new EnvelopeDecodeError(`${bytes.length - at} bytes after the ${partition === undefined ? 'payload' : 'partition'}`);
  const envelope: Envelope = { id, topic, ts, ip, host, headers, type, data };
  if (key !== undefined) envelope.key = key;
  if (sts !== undefined) envelope.sts = sts;
  if (partition !== undefined) envelope.partition = partition;
  return envelope;
}

/**
 * The topic of an encoded envelope, read from its header without decoding the rest (a sink's router
 * needs only this to skip what it does not take). Throws EnvelopeDecodeError as decodeEnvelope would.
 */
export function peekTopic(bytes: Buffer): string {
  if (bytes.length < 3 + 16 + 8 + 1) throw new EnvelopeDecodeError(`envelope truncated at byte ${bytes.length}`);
  if (bytes[0] !== VERSION) throw new EnvelopeDecodeError(`unknown envelope version ${bytes[0]}`);
  const at = 3 + 16 + 8 + (bytes[2]! & FLAG_STS ? 8 : 0);
  const length = bytes[at];
  if (length === undefined || at + 1 + length > bytes.length) throw new EnvelopeDecodeError(`envelope truncated at byte ${at}`);
  return bytes.toString('latin1', at + 1, at + 1 + length);
}
