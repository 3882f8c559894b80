// Reads a request body into one Buffer, with a size limit and a deadline for the whole body, so that
// neither a huge upload nor a client dripping bytes can hold memory or a connection for long. A body
// announced too large by Content-Length is refused before a byte of it is read (and before any
// `100 Continue`, so a well-behaved client never sends it). All bodies in flight together share one
// memory budget (`http.maxBufferedBytes`): past it a request is answered 503, so that many clients
// uploading large bodies at once cannot take the daemon's memory (each body is held until its answer).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from '../errors';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
  budget: BodyBudget;
}

/** Bytes of request bodies held by the requests in flight, against one limit. */
export class BodyBudget {
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * One request's share, given back whole when its response closes: `take(bytes)` grows it, or
   * answers false if that would pass the limit. A request alone is always let in (up to its own
   * maxBodyBytes), so a limit below that never refuses everything.
   */
  share(response: ServerResponse): (bytes: number) => boolean {
    let taken = 0;
    response.once('close', () => (this.held -= taken));
    return (bytes) => {
      if (this.held > taken && this.held + bytes > this.maxBytes) return false;
      this.held += bytes;
      taken += bytes;
      return true;
    };
  }
}

export function readBody(request: IncomingMessage, response: ServerResponse, limits: BodyLimits, expectsContinue: boolean): Promise<Buffer> {
  const header = request.headers['content-length'];
  // Node's parser has checked that Content-Length is digits and agrees with Transfer-Encoding.
  const declared = header === undefined ? -1 : Number(header);
  if (declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
  if (declared === 0 || (declared === -1 && request.headers['transfer-encoding'] === undefined)) return Promise.resolve(EMPTY);
  const take = limits.budget.share(response);
  if (declared > 0 && !take(declared)) return Promise.reject(busy());
  if (expectsContinue) response.writeContinue();

  return new Promise((resolve, reject) => {
    // With a known length one buffer is filled in place; chunked bodies are joined at the end.
    const whole = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: RequestError) => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAbort);
      request.off('close', onAbort);
      if (error) return reject(error);
      if (whole) resolve(size === declared ? whole : whole.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      if (!whole && !take(chunk.length)) return finish(busy());
      if (whole) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => finish();
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

const EMPTY = Buffer.alloc(0);

const busy = () =>
  new RequestError(503, 'INGEST_BUSY', 'too many request bodies are being received at once (http.maxBufferedBytes); retry later', { 'retry-after': '1' });

const tooLarge = (max: number) => new RequestError(413, 'BODY_TOO_LARGE', `the request body is larger than the limit of ${max} bytes`);
