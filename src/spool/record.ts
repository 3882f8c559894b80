// Record framing inside a segment file. Every record is
//
//   u32 magic "SPK1" | u32 payload length | u48 sequence number + u16 zero | u32 CRC-32 | payload
//
// all little-endian. The CRC covers the length, the sequence and the payload, so a flipped bit
// anywhere in a record (the magic aside) is caught. The magic lets a reader find the next record
// after a damaged one: it scans forward for the magic and accepts a candidate only if its CRC holds.
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC = 0x314b5053; // "SPK1" read as u32 LE
export const HEADER_BYTES = 20;
/** Sequence numbers are u48: the largest one a record (or a segment's name) can carry. */
export const MAX_SEQ = 2 ** 48 - 1;
/** No single record may be larger: a longer length field is damage, not data. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

// The CRC runs over the 12 header bytes and then the payload. Node's zlib.crc32 costs about 150 ns a
// call whatever the length, plus a Buffer view to point it at the header: two calls and a view per
// record were 8 % of the ingest profile. The 12 header bytes are folded in here with the standard
// table (the same CRC-32 as zlib's), so each record takes one native call, over its payload.
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, byte) => {
  let c = byte;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 of buffer[at + 4, at + 16): the length and the sequence number of the record at `at`. */
function headerCrc(buffer: Buffer, at: number): number {
  let c = -1;
  for (let i = at + 4; i < at + 16; i++) c = CRC_TABLE[(c ^ buffer[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Writes one framed record into `out` at `at`; returns the offset after it. */
export function writeRecord(out: Buffer, at: number, seq: number, payload: Buffer): number {
  out.writeUInt32LE(RECORD_MAGIC, at);
  out.writeUInt32LE(payload.length, at + 4);
  out.writeUIntLE(seq, at + 8, 6);
  out.writeUInt16LE(0, at + 14);
  payload.copy(out, at + HEADER_BYTES);
  const crc = crc32(payload, headerCrc(out, at));
  out.writeUInt32LE(crc, at + 16);
  return at + HEADER_BYTES + payload.length;
}

export const framedSize = (payload: Buffer): number => HEADER_BYTES + payload.length;

export interface ParsedRecord {
  seq: number;
  payload: Buffer;
  /** Offset of the record's first byte within the parsed buffer. */
  start: number;
  /** Offset just past the record. */
  end: number;
}

export type ParseStep =
  | { kind: 'record'; record: ParsedRecord }
  /** The bytes from `at` cannot be judged without more data (or are a torn tail if no more comes). */
  | { kind: 'incomplete'; at: number }
  /** Damage from `from` to `to` (exclusive); parsing goes on at `to`, where a valid record starts or the data ends. */
  | { kind: 'damaged'; from: number; to: number };

/** Checks the record at `at`: a record, 'incomplete', or undefined when it is not a valid record. */
function recordAt(buffer: Buffer, at: number): ParsedRecord | 'incomplete' | undefined {
  if (buffer.length - at < HEADER_BYTES) return 'incomplete';
  if (buffer.readUInt32LE(at) !== RECORD_MAGIC) return undefined;
  const length = buffer.readUInt32LE(at + 4);
  if (length > MAX_PAYLOAD_BYTES || buffer.readUInt16LE(at + 14) !== 0) return undefined;
  const end = at + HEADER_BYTES + length;
  if (end > buffer.length) return 'incomplete';
  const payload = buffer.subarray(at + HEADER_BYTES, end);
  const crc = crc32(payload, headerCrc(buffer, at));
  if (crc !== buffer.readUInt32LE(at + 16)) return undefined;
  return { seq: buffer.readUIntLE(at + 8, 6), payload, start: at, end };
}

/**
 * One step of parsing `buffer` from `at`. `final` says the buffer holds all the data there is (the
 * readable end of the segment); then a record running past the end is damage (or a torn tail), not
 * a reason to read more. A damaged record is skipped by scanning for the next valid one.
 */
export function parseStep(buffer: Buffer, at: number, final: boolean): ParseStep {
  const here = recordAt(buffer, at);
  if (here === 'incomplete') {
    // A header that cannot be real (bad magic while enough bytes for one) is damage, not a tail.
    const badMagic = buffer.length - at >= 4 && buffer.readUInt32LE(at) !== RECORD_MAGIC;
    return final || badMagic ? scanFrom(buffer, at) : { kind: 'incomplete', at };
  }
  if (here !== undefined) return { kind: 'record', record: here };
  return scanFrom(buffer, at);
}

const MAGIC_BYTES = Buffer.from('SPK1', 'latin1');

function scanFrom(buffer: Buffer, from: number): ParseStep {
  let candidate = buffer.indexOf(MAGIC_BYTES, from + 1);
  while (candidate !== -1) {
    // A candidate cut off by the buffer's end may be real: stop there and let the caller read more.
    if (recordAt(buffer, candidate) !== undefined) return { kind: 'damaged', from, to: candidate };
    candidate = buffer.indexOf(MAGIC_BYTES, candidate + 1);
  }
  return { kind: 'damaged', from, to: buffer.length };
}
