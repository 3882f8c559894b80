// Reads a request body into one Buffer, with a size limit and a deadline for the whole body, so that
// neither a huge upload nor a client dripping bytes can hold memory or a connection for long. A body
// announced too large by Content-Length is refused before a byte of it is read (and before any
// `100 Continue`, so a well-behaved client never sends it). The bytes are charged to the request's
// share of the memory budget as they arrive (budget.ts; 503 beyond). A Content-Encoding is decoded as
// the body streams in (encoding.ts), the decoded size bounded by the same limit as the body's.
import type { Transform } from 'node:stream';
import { RequestError } from '../errors';
import { busy, type MemoryBudget, shareOf } from './budget';
import type { Exchange } from './context';
import { contentDecoder, type Decoder } from './encoding';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
  budget: MemoryBudget;
}

export function readBody(exchange: Exchange, limits: BodyLimits): Promise<Buffer> {
  const { request, response } = exchange;
  const decoder = contentDecoder(request.headers['content-encoding']);
  const header = request.headers['content-length'];
  // Node's parser has checked that Content-Length is digits and agrees with Transfer-Encoding.
  const declared = header === undefined ? -1 : Number(header);
  if (declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
  if (declared === 0 || (declared === -1 && request.headers['transfer-encoding'] === undefined)) return Promise.resolve(EMPTY);
  const share = shareOf(exchange, limits.budget);
  // A known length, not encoded: reserved at once and filled in place. Otherwise charged per chunk.
  const inPlace = declared > 0 && decoder === undefined;
  if (inPlace && !share.take(declared)) return Promise.reject(busy());
  if (exchange.expectsContinue) response.writeContinue();

  return new Promise((resolve, reject) => {
    const whole = inPlace ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    /** Body bytes collected (decoded, when encoded). */
    let size = 0;
    /** Bytes received on the wire, when encoded. */
    let received = 0;
    let inflater: Transform | undefined;
    let settled = false;
    const finish = (error?: RequestError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAbort);
      request.off('close', onAbort);
      inflater?.destroy();
      if (error) {
        // Whatever of the body still comes is discarded (a paused request would hold it instead).
        request.resume();
        return reject(error);
      }
      if (whole) resolve(size === declared ? whole : whole.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const collect = (chunk: Buffer) => {
      if (settled) return;
      if (size + chunk.length > limits.maxBytes) return finish(tooLarge(limits.maxBytes, decoder));
      if (!whole && !share.take(chunk.length)) return finish(busy());
      if (whole) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    const onData = (chunk: Buffer) => {
      if (decoder === undefined) return collect(chunk);
      received += chunk.length;
      if (received > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      inflater ??= startDecoding(decoder, chunk, collect, finish);
      // Decoding runs on the thread pool: stop reading the client while it catches up.
      if (!inflater.write(chunk)) {
        request.pause();
        inflater.once('drain', () => request.resume());
      }
    };
    const onEnd = () => {
      if (!inflater) return finish();
      // All of the body is in; what is left is decoding it, which the request's close must not cut.
      request.off('close', onAbort);
      inflater.end();
    };
    // `close` before `end` means the client went away mid-body; nobody is left to answer, but the
    // promise must settle so that nothing waits on it.
    const onAbort = () => finish(new RequestError(400, 'BODY_ABORTED', 'the request body was cut off'));
    // 0 turns the deadline off (as 0 does for Node's own timeouts).
    const timer =
      limits.timeoutMs > 0
        ? setTimeout(() => finish(new RequestError(408, 'BODY_TIMEOUT', `the request body did not arrive within ${limits.timeoutMs} ms`)), limits.timeoutMs)
        : undefined;
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAbort);
    request.on('close', onAbort);
  });
}

function startDecoding(decoder: Decoder, first: Buffer, collect: (chunk: Buffer) => void, finish: (error?: RequestError) => void): Transform {
  const inflater = decoder.create(first);
  inflater.on('data', collect);
  inflater.once('end', () => finish());
  inflater.once('error', (error: Error) => finish(new RequestError(400, 'INVALID_ENCODING', `the request body is not valid ${decoder.name}: ${error.message}`)));
  return inflater;
}

const EMPTY = Buffer.alloc(0);

const tooLarge = (max: number, decoder?: Decoder) =>
  new RequestError(413, 'BODY_TOO_LARGE', `the request body is larger than the limit of ${max} bytes${decoder ? ` once decoded (${decoder.name})` : ''}`);
