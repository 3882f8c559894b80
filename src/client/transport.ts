// One request: an NW1 body POSTed to one instance, and what its answer means for the batch (acked,
// worth trying again, or refused for good) and for the instance (down, busy for a while, or fine).
// http:// instances: our own keep-alive sockets (http1.ts: a third of node:http's CPU per request);
// https:// ones: node:https with a keep-alive agent per instance (TLS options, client certificates).
// Both bounded per instance and dropped with it, a timeout one timer per request.
import type { IncomingMessage } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';
import { type Answer, Http1Error, type Http1Pool } from './http1';
import { NW1_CONTENT_TYPE } from '../envelope/nw1';
import { VERSION } from '../version';
import type { AckMode } from './options';

export type Outcome =
  | { kind: 'acked' }
  /** Try again: `instance` says what the failure tells of the instance; `afterMs` is its Retry-After. */
  | { kind: 'retry'; instance: 'down' | 'busy' | 'fine'; afterMs: number; why: string }
  /** The instance will not take these events: `split` when a smaller batch might pass (400, 413). */
  | { kind: 'refused'; status: number; code: string; message: string; split: boolean };

export interface PostOptions {
  base: URL;
  /** An https:// instance's agent. */
  agent: Agent | undefined;
  /** An http:// instance's connections. */
  http1: Http1Pool | undefined;
  topic: string;
  ack: AckMode;
  body: Buffer;
  events: number;
  token: string | undefined;
  timeoutMs: number;
  /** Aborting gives the request up (answered as a failure to retry). */
  signal?: AbortSignal;
}

/** Largest answer read (errors are short). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** What is kept of a 202: its count (`{"accepted":N,`); the ids it lists after it are the client's own. */
const ACCEPTED_PREFIX_BYTES = 64;
const USER_AGENT = `sparkngin-client/${VERSION}`;

/** Where requests to a topic go: `http.request` options, made once per instance, topic and ack mode. */
interface Target {
  protocol: string;
  hostname: string;
  port: string;
  path: string;
  /** user:password of a base URL that carries them (as http.request reads them from a URL). */
  auth?: string;
  /** The head of a POST to it up to its Content-Length, but for Authorization (http1.ts). */
  head?: string;
  /** The Authorization line of `auth`, made once. */
  basic?: string;
}

/**
 * Targets by base URL, then ack mode and topic: a URL made and read back per request was a
 * measurable part of its cost at batches of 100. Cleared past MAX_TARGETS topics (an application
 * sending to topics without end must not grow it without end).
 */
const targets = new WeakMap<URL, Record<AckMode, Map<string, Target>>>();
const MAX_TARGETS = 1000;

/** The request target of a topic on an instance whose base URL may carry a path (behind a proxy). */
export function topicTarget(base: URL, topic: string, ack: AckMode): Target {
  let byAck = targets.get(base);
  if (byAck === undefined) targets.set(base, (byAck = { spool: new Map(), sink: new Map() }));
  const byTopic = byAck[ack];
  let target = byTopic.get(topic);
  if (target === undefined) {
    if (byTopic.size >= MAX_TARGETS) byTopic.clear();
    const path = `${base.pathname.replace(/\/+$/, '')}/v1/topics/${encodeURIComponent(topic)}${ack === 'sink' ? '?ack=sink' : ''}`;
    // A bracketed IPv6 literal is a hostname without its brackets for http.request.
    target = { protocol: base.protocol, hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'), port: base.port, path };
    if (base.username !== '') target.auth = `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`;
    byTopic.set(topic, target);
  }
  return target;
}

export function post(options: PostOptions): Promise<Outcome> {
  return options.http1 === undefined ? postHttps(options) : postHttp1(options, options.http1);
}

/** Bytes of an answer kept: a 202's count only (`{"accepted":N,`; the ids it lists after it are the client's own), all of an error. */
const keptOf = (status: number): number => (status === 202 ? ACCEPTED_PREFIX_BYTES : MAX_ANSWER_BYTES);

function postHttp1(options: PostOptions, pool: Http1Pool): Promise<Outcome> {
  if (options.signal?.aborted) return Promise.resolve(GIVEN_UP);
  const target = topicTarget(options.base, options.topic, options.ack);
  target.head ??= `POST ${target.path} HTTP/1.1\r\nHost: ${options.base.host}\r\nContent-Type: ${NW1_CONTENT_TYPE}\r\nUser-Agent: ${USER_AGENT}\r\n`;
  // A token goes over credentials in the URL, as node:http's explicit Authorization header did.
  const authorization =
    options.token !== undefined ? `Authorization: Bearer ${options.token}\r\n`
    : target.auth !== undefined ? (target.basic ??= `Authorization: Basic ${Buffer.from(target.auth).toString('base64')}\r\n`)
    : '';
  return pool.request({ head: authorization === '' ? target.head : target.head + authorization, body: options.body, keep: keptOf, timeoutMs: options.timeoutMs }).then(
    (answer: Answer) => judgeAnswer(answer.status, answer.headers['retry-after'], answer.text, options.events),
    (error: Http1Error) =>
      error.reason === 'given-up' || options.signal?.aborted ? GIVEN_UP
      // A host that died answers nothing at all: out of rotation until its /health answers again.
      : { kind: 'retry', instance: 'down', afterMs: 0, why: error.reason === 'timeout' ? error.message : `answer cut off: ${error.message}` },
  );
}

const GIVEN_UP: Outcome = { kind: 'retry', instance: 'fine', afterMs: 0, why: 'given up: the client closed' };

function postHttps(options: PostOptions): Promise<Outcome> {
  const target = topicTarget(options.base, options.topic, options.ack);
  const headers: Record<string, string | number> = {
    'content-type': NW1_CONTENT_TYPE,
    'content-length': options.body.length,
    'user-agent': USER_AGENT,
  };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve) => {
    let settled = false;
    const onAbort = () => request.destroy();
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const request = httpsRequest({ ...target, method: 'POST', agent: options.agent, headers }, (response) => {
      readAnswer(response, keptOf(response.statusCode ?? 0)).then(
        (text) => finish(judgeAnswer(response.statusCode ?? 0, response.headers['retry-after'], text, options.events)),
        (error: Error) => finish({ kind: 'retry', instance: 'down', afterMs: 0, why: `answer cut off: ${error.message}` }),
      );
    });
    const timer = setTimeout(() => {
      request.destroy();
      // A host that died answers nothing at all: out of rotation until its /health answers again.
      finish({ kind: 'retry', instance: 'down', afterMs: 0, why: `no answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (options.signal?.aborted) finish(GIVEN_UP);
      else finish({ kind: 'retry', instance: 'down', afterMs: 0, why: error.code ?? error.message });
    });
    if (options.signal?.aborted) request.destroy();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    request.end(options.body);
  });
}

/** The answer's first `keep` bytes as text; the rest is read and dropped, up to MAX_ANSWER_BYTES in all. */
function readAnswer(response: IncomingMessage, keep: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < keep) chunks.push(chunk.subarray(0, keep - size));
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) response.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('aborted')));
  });
}

/** Retry-After in ms (seconds or an HTTP date), or undefined when the answer has none. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorOf(text: string): { code: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') return { code: parsed.error.code, message: String(parsed.error.message ?? '') };
  } catch {
    // not our JSON: a proxy's page
  }
  return { code: 'UNKNOWN', message: text.slice(0, 200) };
}

/** What an answer (its status, Retry-After header and kept text) means; see Outcome. */
export function judgeAnswer(status: number, retryAfter: string | undefined, text: string, events: number): Outcome {
  if (status === 202) {
    const accepted = acceptedCount(text);
    if (accepted === events) return ACKED;
    return { kind: 'retry', instance: 'down', afterMs: 0, why: `202 for ${String(accepted)} of ${events} events: not a Sparkngin answer` };
  }
  return failureOutcome(status, text, retryAfterMs(retryAfter));
}

const ACKED: Outcome = { kind: 'acked' };

/**
 * What an answer other than 202 means, from its status, its body (`{"error":{"code","message"}}`)
 * and its Retry-After in ms if it has one. Shared with the ZeroMQ transport (transport-zmq.ts),
 * whose answers carry the same statuses and errors.
 */
export function failureOutcome(status: number, text: string, retryAfter: number | undefined): Outcome {
  const { code, message } = errorOf(text);
  const why = `${status} ${code}`;
  // Busy: full spool, too many connections or requests, rate limit; it says when to come back.
  if (status === 503 || status === 429) return { kind: 'retry', instance: 'busy', afterMs: retryAfter ?? 1000, why };
  // Stored there but the sinks were slow (ack=sink), or our body was slow: the instance is fine.
  if (status === 504 || status === 408) return { kind: 'retry', instance: 'fine', afterMs: retryAfter ?? 0, why };
  if (status === 400 || status === 413) return { kind: 'refused', status, code, message, split: true };
  // 502: a sink refused the events for good and parked them in its dead-letter file.
  if (status >= 400 && status < 500 || status === 502) return { kind: 'refused', status, code, message, split: false };
  return { kind: 'retry', instance: 'down', afterMs: retryAfter ?? 0, why };
}

function acceptedCount(text: string): number | undefined {
  const match = /^\{"accepted":(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}
