// Who may do what on the ingest, in the order a request meets the checks:
//
//   1. admit (server.ts, once the route is known, before anything is read):
//      events routes → the credential (401 INVALID_CREDENTIAL for a bad one; 401 UNAUTHORIZED at
//      once for none, when no topic is open) and the client's rate (429 RATE_LIMITED);
//      ops routes → the ops token, when ops.tokens are set (401); open routes (/health) → nothing.
//   2. authorize (routes, as soon as the topic is known, before the body is read when the topic is
//      in the path): 401 UNAUTHORIZED (no credential, topic not open), 403 TOPIC_NOT_ALLOWED (not in
//      http.topics), 403 TOPIC_FORBIDDEN (the credential may not write it).
//   3. charge (routes, just before the events are stored): authorizes again, so that a route which
//      skipped step 2 still cannot store what it must not, and counts events and bytes against the
//      client's rate.
// 401 comes before the allow-list's 403, so that a caller without a credential learns nothing of
// which topics exist.
import type { Config, OpsTokenGrant } from '../config/defaults';
import { RequestError } from '../errors';
import { type TopicFilter, topicFilter } from '../sinks/route';
import { Authenticator, invalidCredential, type Principal, presentedToken, TokenSet, unauthorized } from './auth';
import type { Exchange } from './context';
import { clientAddress } from './meta';
import type { Batch } from './parse';
import { addressKey, RateLimiter } from './rate-limit';

const OPS_REALM = 'sparkngin-ops';

const notAllowed = (topic: string) => new RequestError(403, 'TOPIC_NOT_ALLOWED', `this server takes no events for topic '${topic}'`);

/** What a route serves: events (checked, limited), operations data (ops token), or nothing secret. */
export type RouteKind = 'events' | 'ops' | 'open';

/** The client of a request, as far as access goes. */
export interface Client {
  principal: Principal | undefined;
  /** Rate-limit key: the principal's id, else the address ('' while rate limits are off). */
  key: string;
}

export class Access {
  readonly auth: Authenticator;
  private readonly allowed: TopicFilter;
  private readonly limiter: RateLimiter;
  private readonly opsTokens: TokenSet<OpsTokenGrant>;
  private readonly trustProxy: boolean;

  constructor(config: Config, now: () => number = Date.now) {
    this.auth = new Authenticator(config);
    this.allowed = topicFilter(config.http.topics);
    this.limiter = new RateLimiter(config.rateLimit, now);
    this.opsTokens = new TokenSet(config.ops.tokens);
    this.trustProxy = config.http.trustProxy;
  }

  admit(exchange: Exchange, kind: RouteKind): void {
    if (kind === 'ops') return this.admitOps(exchange);
    // With auth and limits off (the default) an events request costs nothing here.
    if (kind !== 'events' || (!this.auth.required && !this.limiter.enabled)) return;
    const client = this.clientOf(exchange);
    if (client.principal === undefined && this.auth.required && !this.auth.hasOpenTopics) {
      throw unauthorized('a credential is needed: Authorization: Bearer <token>, or a client certificate');
    }
    this.limiter.admit(client.key);
  }

  authorize(exchange: Exchange, topic: string): void {
    if (!this.auth.required) {
      if (!this.allowed(topic)) throw notAllowed(topic);
      return;
    }
    const { principal } = this.clientOf(exchange);
    const open = this.auth.isOpen(topic);
    if (principal === undefined && !open) {
      throw unauthorized(`topic '${topic}' needs a credential: Authorization: Bearer <token>, or a client certificate`);
    }
    if (!this.allowed(topic)) throw notAllowed(topic);
    if (principal !== undefined && !open && !principal.mayWrite(topic)) {
      throw new RequestError(403, 'TOPIC_FORBIDDEN', `the credential '${principal.id}' may not write topic '${topic}'`);
    }
  }

  /** Whether anyone may write `topic` without a credential (the tracking pixel's case: browsers send none). */
  openToAnyone(topic: string): boolean {
    return this.allowed(topic) && (!this.auth.required || this.auth.isOpen(topic));
  }

  charge(exchange: Exchange, topic: string, batch: Batch): void {
    this.authorize(exchange, topic);
    if (!this.limiter.enabled) return;
    let bytes = 0;
    for (const item of batch.items) bytes += item.length;
    this.limiter.charge(this.clientOf(exchange).key, batch.items.length, bytes);
  }

  private clientOf(exchange: Exchange): Client {
    if (exchange.client === undefined) {
      const principal = this.auth.identify(exchange.request);
      const key = principal?.id ?? (this.limiter.enabled ? addressKey(clientAddress(exchange.request, this.trustProxy)) : '');
      exchange.client = { principal, key };
    }
    return exchange.client;
  }

  private admitOps(exchange: Exchange): void {
    if (this.opsTokens.size === 0) return;
    const token = presentedToken(exchange.request, undefined);
    if (token === undefined) throw unauthorized('the operations endpoints need Authorization: Bearer <ops token> (or Basic, the token as the password, as a browser sends it)', OPS_REALM, true);
    if (this.opsTokens.find(token) === undefined) throw invalidCredential(OPS_REALM, true);
  }
}
