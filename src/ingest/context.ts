// What every route handler gets: the server-wide settings and collaborators (IngestContext, made once)
// and the request at hand (Exchange, one per request).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/defaults';
import type { Logger } from '../ops/log';
import type { AcceptedCounter } from './accepted';
import type { Access, Client } from './access';
import type { BodyLimits } from './body';
import type { Share } from './budget';
import type { Query } from './query';
import type { RefusalCounter } from './refusals';
import type { IngestTarget } from './target';

/** Operations endpoints served beside ingest (`/stats`, `/metrics`, `/imok`), when the daemon provides them. */
export interface OpsEndpoints {
  /** A promise where the numbers are gathered from other threads first (src/ingest/threads/). */
  stats(): unknown;
  /** Prometheus text exposition format. */
  metrics(): string | Promise<string>;
  /** What keeps the instance from being well (src/ops/health.ts); empty when `/imok` answers imok (and without it). */
  problems?(): string[] | Promise<string[]>;
}

export interface IngestContext {
  target: IngestTarget;
  logger: Logger;
  now: () => number;
  /** Host name written into every envelope. */
  host: string;
  limits: BodyLimits;
  /** Most events one request may hold (http.maxEventsPerRequest; 413 beyond). */
  maxEvents: number;
  trustProxy: boolean;
  ops: OpsEndpoints | undefined;
  refusals: RefusalCounter;
  /** Requests and events acknowledged, with their latency and size (the daemon reads it for /stats). */
  accepted: AcceptedCounter;
  tracker: Config['tracker'];
  /** The REST Proxy compatible routes (rest-proxy/): on or off, and their default ack mode. */
  restProxy: Config['restProxy'];
  /** Credentials, topic allow-list and rate limits (access.ts). */
  access: Access;
  /** What this listener serves besides /health: events, the operations endpoints, or both. */
  serves: { events: boolean; ops: boolean };
}

export interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  method: string;
  /** The path without the query, as sent (not decoded). */
  path: string;
  query: Query;
  /** The client sent `Expect: 100-continue`: it waits for `100 Continue` before sending the body. */
  expectsContinue: boolean;
  /** This request's share of the memory budget, once it holds something (budget.ts shareOf). */
  memory: Share | undefined;
  /** Who sent it, once access.ts has looked. */
  client: Client | undefined;
  /** performance.now() when its headers were read: the start of its latency. */
  receivedAt: number;
}
