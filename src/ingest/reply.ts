// Every answer the ingest gives is JSON; errors are `{"error":{"code","message"}}`.
import type { ServerResponse } from 'node:http';
import { RequestError } from '../errors';

export function replyJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function replyError(response: ServerResponse, error: RequestError): void {
  replyJson(response, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

export const badRequest = (code: string, message: string): RequestError => new RequestError(400, code, message);
