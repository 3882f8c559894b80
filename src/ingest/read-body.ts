// Reads a request body with a size limit and a deadline for the whole body, so that neither a huge
// upload nor a slow-dripping client can hold memory or a connection for long.
import type { IncomingMessage } from 'node:http';
import { RequestError } from '../errors';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

export function readBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error?: RequestError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const timer = setTimeout(
      () => finish(new RequestError(408, 'BODY_TIMEOUT', `the request body did not arrive within ${limits.timeoutMs} ms`, { connection: 'close' })),
      limits.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) finish(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () => finish(new RequestError(400, 'BODY_ABORTED', 'the request body was cut off'));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

const tooLarge = (max: number) => new RequestError(413, 'BODY_TOO_LARGE', `the request body is larger than the limit of ${max} bytes`, { connection: 'close' });
