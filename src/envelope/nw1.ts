// NW protocol v1 over HTTP: a batch of binary envelopes (codec-binary.ts, the bytes the spool stores)
// as one request body, `Content-Type: application/vnd.sparkngin.nw1`. Byte layout in README.md here.
// The client library writes it, the ingest reads it (src/ingest/nw1.ts), `sparkngin drain` forwards
// spooled records in it as they are on disk.
//
// Strict on read (decodeEnvelope's `strict`): a frame is taken only if it is exactly the encoding of
// what it decodes to, so nothing a lenient decoder would quietly change gets in: bytes that are not
// UTF-8, a header name given twice, unknown flag bits, bytes after the payload.
import { decodeEnvelope, decodeLike, EnvelopeDecodeError, ID_AT } from './codec-binary';
import type { Envelope } from './envelope';
import { eventIdTexts } from './id';

export const NW1_CONTENT_TYPE = 'application/vnd.sparkngin.nw1';
/** "SNW1": the first four bytes of every body, so that a mislabelled body is refused at once. */
export const NW1_MAGIC = Buffer.from('SNW1', 'latin1');
/** Each envelope in a body is preceded by its length, u32 LE. */
export const FRAME_HEADER = 4;

/** One body holding the given encoded envelopes, each framed by its u32 LE length. */
export function frameEnvelopes(encoded: readonly Buffer[]): Buffer {
  let size = NW1_MAGIC.length;
  for (const envelope of encoded) size += FRAME_HEADER + envelope.length;
  const body = Buffer.allocUnsafe(size);
  let at = NW1_MAGIC.copy(body, 0);
  for (const envelope of encoded) {
    at = body.writeUInt32LE(envelope.length, at);
    at += envelope.copy(body, at);
  }
  return body;
}

export const NW1_OVERHEAD = NW1_MAGIC.length;

/**
 * The envelopes of a body, each exactly as encoded (see the top), at most `maxEvents` of them:
 * `tooMany` is thrown past that, counted while cutting. Throws EnvelopeDecodeError naming the frame.
 * Envelopes with the fields of the one before share its topic, key and headers objects (decodeLike).
 * `frames`, when given, receives each envelope's bytes (views of the body), in order.
 */
export function readFrames(body: Buffer, maxEvents: number, tooMany: () => Error, frames: Buffer[] = []): Envelope[] {
  if (body.length < NW1_MAGIC.length || !body.subarray(0, NW1_MAGIC.length).equals(NW1_MAGIC)) {
    throw new EnvelopeDecodeError('the body does not start with the NW1 magic "SNW1"');
  }
  // Cut first, so that the ids are made as one string (eventIdTexts); a body that cannot be cut
  // further is refused after the frames before the cut are decoded, as a frame-by-frame read would.
  let cut: Error | undefined;
  let at = NW1_MAGIC.length;
  while (at < body.length) {
    const frame = frames.length + 1;
    if (frames.length >= maxEvents) {
      cut = tooMany();
      break;
    }
    if (at + FRAME_HEADER > body.length) {
      cut = new EnvelopeDecodeError(`envelope ${frame}: the body ends inside its length`);
      break;
    }
    const length = body.readUInt32LE(at);
    at += FRAME_HEADER;
    if (at + length > body.length) {
      cut = new EnvelopeDecodeError(`envelope ${frame}: ${length} bytes announced, ${body.length - at} left in the body`);
      break;
    }
    frames.push(body.subarray(at, at + length));
    at += length;
  }
  const ids = eventIdTexts(frames, ID_AT);
  const envelopes = new Array<Envelope>(frames.length);
  // The last envelope decoded whole, and its bytes: the model of those after it (decodeLike).
  let model: Envelope | undefined;
  let modelBytes: Buffer | undefined;
  for (let i = 0; i < frames.length; i++) {
    const bytes = frames[i]!;
    try {
      let envelope = model === undefined ? undefined : decodeLike(bytes, model, modelBytes!, ids[i]);
      if (envelope === undefined) {
        envelope = model = decodeEnvelope(bytes, true);
        modelBytes = bytes;
      }
      envelopes[i] = envelope;
    } catch (error) {
      throw new EnvelopeDecodeError(`envelope ${i + 1}: ${(error as Error).message}`);
    }
  }
  if (cut !== undefined) throw cut;
  if (envelopes.length === 0) throw new EnvelopeDecodeError('the body holds no envelope');
  return envelopes;
}

/** Why `id` cannot be a client-made event id, or undefined: a UUIDv7 (RFC 9562: version 7, variant 10). */
export function eventIdProblem(id: string): string | undefined {
  // The codec wrote it from 16 bytes as lower-case hex: only the version and variant nibbles remain to check.
  if (id[14] === '7' && '89ab'.includes(id[19]!)) return undefined;
  return `the event id ${id} is not a UUIDv7 (version 7, RFC 9562 variant)`;
}
