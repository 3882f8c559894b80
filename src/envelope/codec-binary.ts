// Compact binary encoding of an Envelope: what the spool stores. Little-endian, fixed-width lengths
// (cheap to write on the hot path, cheap to skip when reading):
//
//   u8  version (1)        u8 type (0 json, 1 text, 2 binary)     u8 flags (1 key, 2 sts)
//   16  id (UUID bytes)    f64 ts                                 [f64 sts]
//   u8+ topic              [u32+ key]                             u8+ ip     u8+ host
//   u16 header count, then per header: u16+ name, u32+ value
//   u32+ data
//
// `u8+ x` is a length of that width followed by the UTF-8 bytes of x.
import { SparknginError } from '../errors';
import type { Envelope, EventType } from './envelope';

const VERSION = 1;
const TYPES: EventType[] = ['json', 'text', 'binary'];
const TYPE_CODE: Record<EventType, number> = { json: 0, text: 1, binary: 2 };
const FLAG_KEY = 1;
const FLAG_STS = 2;

export class EnvelopeDecodeError extends SparknginError {
  constructor(message: string) {
    super('ENVELOPE_INVALID', message);
  }
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  const topic = Buffer.from(envelope.topic, 'utf8');
  const key = envelope.key === undefined ? undefined : Buffer.from(envelope.key, 'utf8');
  const ip = Buffer.from(envelope.ip.slice(0, 255), 'utf8');
  const host = Buffer.from(envelope.host, 'utf8').subarray(0, 255);
  const headerEntries = Object.entries(envelope.headers).map(([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')] as const);

  let size = 3 + 16 + 8 + (envelope.sts === undefined ? 0 : 8) + 1 + topic.length + (key ? 4 + key.length : 0);
  size += 1 + ip.length + 1 + host.length + 2 + 4 + envelope.data.length;
  for (const [name, value] of headerEntries) size += 2 + name.length + 4 + value.length;

  const out = Buffer.allocUnsafe(size);
  let at = 0;
  out[at++] = VERSION;
  out[at++] = TYPE_CODE[envelope.type];
  out[at++] = (key ? FLAG_KEY : 0) | (envelope.sts === undefined ? 0 : FLAG_STS);
  at += out.write(envelope.id.replace(/-/g, ''), at, 16, 'hex');
  at = out.writeDoubleLE(envelope.ts, at);
  if (envelope.sts !== undefined) at = out.writeDoubleLE(envelope.sts, at);
  out[at++] = topic.length;
  at += topic.copy(out, at);
  if (key) {
    at = out.writeUInt32LE(key.length, at);
    at += key.copy(out, at);
  }
  out[at++] = ip.length;
  at += ip.copy(out, at);
  out[at++] = host.length;
  at += host.copy(out, at);
  at = out.writeUInt16LE(headerEntries.length, at);
  for (const [name, value] of headerEntries) {
    at = out.writeUInt16LE(name.length, at);
    at += name.copy(out, at);
    at = out.writeUInt32LE(value.length, at);
    at += value.copy(out, at);
  }
  at = out.writeUInt32LE(envelope.data.length, at);
  envelope.data.copy(out, at);
  return out;
}

export function decodeEnvelope(bytes: Buffer): Envelope {
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new EnvelopeDecodeError(`envelope truncated at byte ${at} (needs ${n} more)`);
  };
  const string = (width: 1 | 2 | 4): string => {
    need(width);
    const length = width === 1 ? bytes[at]! : width === 2 ? bytes.readUInt16LE(at) : bytes.readUInt32LE(at);
    at += width;
    need(length);
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
  const hex = bytes.toString('hex', at, at + 16);
  at += 16;
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
  const headers: Record<string, string> = {};
  for (let i = 0; i < headerCount; i++) {
    const name = string(2);
    headers[name] = string(4);
  }
  need(4);
  const length = bytes.readUInt32LE(at);
  at += 4;
  need(length);
  const data = bytes.subarray(at, at + length);
  const envelope: Envelope = { id, topic, ts, ip, host, headers, type, data };
  if (key !== undefined) envelope.key = key;
  if (sts !== undefined) envelope.sts = sts;
  return envelope;
}
