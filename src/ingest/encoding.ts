// Content-Encoding of request bodies: gzip, deflate, and zstd when the running Node's zlib has it
// (Node 22.15+, which the executables embed). Decoding is streamed by body.ts, which counts the
// decoded bytes against http.maxBodyBytes, so that a small compressed body that inflates to gigabytes
// is refused (413) after at most maxBodyBytes of output, never held. Anything else is refused (415)
// before the body is read: storing compressed bytes as if they were the event is the silent damage
// this exists to prevent.
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { RequestError } from '../errors';

export interface Decoder {
  /** The coding, as named in errors. */
  name: string;
  /** A decompressing stream for a body starting with `first`. */
  create(first: Buffer): Transform;
}

// zstd frames name their own window size; a window over 8 MiB is refused (RFC 9659 §3 asks no more
// of an HTTP recipient), so that a crafted frame cannot make the decoder allocate up to 2 GiB.
const ZSTD_WINDOW_LOG_MAX = 23;

const zstd = (zlib as { createZstdDecompress?: (options?: object) => Transform }).createZstdDecompress;
const zstdConstants = (zlib.constants as Record<string, number>).ZSTD_d_windowLogMax;

const DECODERS = new Map<string, Decoder>([
  ['gzip', { name: 'gzip', create: () => zlib.createGunzip() }],
  // RFC 1950 says deflate is the zlib format; some clients send a raw deflate stream. As browsers and
  // undici do, the first byte tells them apart (a zlib header names method 8, deflate, in its low bits).
  ['deflate', { name: 'deflate', create: (first) => ((first[0]! & 0x0f) === 0x08 ? zlib.createInflate() : zlib.createInflateRaw()) }],
]);
DECODERS.set('x-gzip', DECODERS.get('gzip')!);
if (zstd !== undefined && zstdConstants !== undefined) {
  DECODERS.set('zstd', { name: 'zstd', create: () => zstd({ params: { [zstdConstants]: ZSTD_WINDOW_LOG_MAX } }) });
}

/** The codings accepted, for the 415 message and its Accept-Encoding header (RFC 9110 §12.5.3). */
export const ACCEPTED_ENCODINGS = [...DECODERS.keys()].filter((name) => name !== 'x-gzip').join(', ');

/** The decoder for a Content-Encoding header: undefined for none or `identity`; 415 for anything else. */
export function contentDecoder(header: string | undefined): Decoder | undefined {
  if (header === undefined) return undefined;
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  const decoder = codings.length === 1 ? DECODERS.get(codings[0]!) : undefined;
  if (decoder !== undefined) return decoder;
  const problem = codings.length > 1 ? `more than one content coding ('${header.slice(0, 60)}')` : `the content coding '${codings[0]!.slice(0, 40)}'`;
  throw new RequestError(415, 'UNSUPPORTED_ENCODING', `${problem} is not supported; use one of: ${ACCEPTED_ENCODINGS}`, { 'accept-encoding': ACCEPTED_ENCODINGS });
}
