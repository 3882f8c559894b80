// Every answer the ingest gives is JSON; errors are `{"error":{"code","message"}}` with a stable code.
// Failures from the target are mapped here, in one place, so that each route answers them the same.
import type { ServerResponse } from 'node:http';
import { RequestError, SinkError, SpoolClosedError, SpoolFullError } from '../errors';
import type { Logger } from '../ops/log';

export function sendJson(response: ServerResponse, status: number, body: unknown, headers?: Record<string, string | string[]>): void {
  sendText(response, status, JSON.stringify(body), headers);
}

/**
 * `text` is JSON already (the hot path builds its answer by hand; see acceptedBody). The headers go
 * to one writeHead as a flat list: a response nothing set a header on before (the usual one) makes
 * no header map then; one that has some (`connection: close` from a refusal) keeps them, ours after.
 */
export function sendText(response: ServerResponse, status: number, text: string, headers?: Record<string, string | string[]>): void {
  if (response.headersSent || response.destroyed) return;
  const fields: Array<string | number | string[]> = ['content-type', 'application/json', 'content-length', Buffer.byteLength(text)];
  if (headers) for (const name in headers) fields.push(name, headers[name]!);
  response.writeHead(status, fields as string[]);
  response.end(text);
}

export function sendError(response: ServerResponse, error: RequestError): void {
  sendJson(response, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/**
 * `{"accepted":N,"ids":[...]}`, written by hand: ids are canonical UUIDs (hex and dashes), so no
 * escaping is needed, and a 10 000-event batch answers without a JSON.stringify walk.
 */
export function acceptedBody(ids: string[]): string {
  return ids.length === 0 ? '{"accepted":0,"ids":[]}' : `{"accepted":${ids.length},"ids":["${ids.join('","')}"]}`;
}

export const badRequest = (code: string, message: string): RequestError => new RequestError(400, code, message);

export const tooManyEvents = (max: number, setting = 'http.maxEventsPerRequest'): RequestError =>
  new RequestError(413, 'TOO_MANY_EVENTS', `the request holds more than ${max} events (${setting}); send them in smaller requests`);

/**
 * Any failure → the RequestError to answer with. The target's errors keep their codes; anything we
 * did not raise on purpose is logged with its stack and answered 500 with a message that reveals
 * nothing of the inside (paths, stack, peer addresses).
 */
export function toRequestError(error: unknown, logger: Logger): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof SpoolFullError) {
    return new RequestError(503, error.code, 'the spool is full; retry later', { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) });
  }
  // A restart usually takes a few seconds; asking for 5 spreads the retries of many clients.
  if (error instanceof SpoolClosedError) return new RequestError(503, error.code, 'the daemon is shutting down; retry later', { 'retry-after': '5' });
  if (error instanceof SinkError) {
    logger.warn('ingest.sink_refused', { error, sink: error.sink });
    // The sink's own message names files and brokers; the client learns which sink and whether to retry.
    const why = error.retriable ? 'retry later' : 'it refused them for good and parked them in its dead-letter file';
    return new RequestError(502, error.code, `the sink '${error.sink}' did not accept the events; ${why}`);
  }
  logger.error('ingest.internal_error', { error, stack: error instanceof Error ? error.stack : undefined });
  return new RequestError(500, 'INTERNAL', 'internal error; the events were not accepted');
}
