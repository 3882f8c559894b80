// Credentials: who may write events (auth.*) and who may read the operations endpoints (ops.tokens).
//
// A credential is a token: 32 random bytes made by `sparkngin token new`, shown once and stored in
// the configuration only as its SHA-256. A client sends it as `Authorization: Bearer <token>`, in the
// API-key header (auth.apiKeyHeader, X-API-Key by default), or as the password of Basic auth (for
// shippers that only know user and password, such as Fluent Bit's http output). Each token names
// the topic patterns it may write. With mutual TLS, a verified client certificate whose subject CN
// is listed in auth.certificates is a credential too.
//
// Why a plain SHA-256 and not bcrypt, scrypt or Argon2: those are slow on purpose, so that guessing
// a human-chosen password from its stolen hash is expensive. A 256-bit random token cannot be
// guessed at any speed, so slowness buys nothing here; it would cost tens of milliseconds of CPU on
// every request (or a cache of plaintext tokens in memory to avoid that), cap a small machine at a
// few dozen requests per second, and make authentication itself a denial-of-service lever.
//
// Why no byte-by-byte constant-time compare: what is looked up is the SHA-256 of what the client
// sent, in a Map keyed by the stored hashes. The time of that lookup depends only on the hash of the
// guess, which an attacker cannot steer towards a stored hash (that would take a preimage), so it
// tells nothing about any token: the leak a constant-time compare prevents (how many leading bytes
// of a guess are right) exists only when the secret itself is compared. Measured on the busy 2-core
// test machine: a constant-time loop over every stored hash took 14 µs a request with 10 tokens and
// 45 µs with 100; the lookup takes about 2 µs (the hash), whatever the number of tokens.
//
// Browser beacons (an <img> or navigator.sendBeacon) cannot send a header, and a token in a URL ends
// up in access logs, Referer headers and browser history. Topics written from browsers are
// therefore listed in auth.openTopics: writable without a credential, still under the rate limits
// by address, and kept apart from the topics that need a token.
import { hash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/defaults';
import { RequestError } from '../errors';
import { type TopicFilter, topicFilter } from '../sinks/route';

/** Marks a Sparkngin token, so that secret scanners (and people) can tell what a leaked string is. */
export const TOKEN_PREFIX = 'spk_';

/** A new random token: the prefix and 32 random bytes in base64url (256 bits). */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What the configuration stores of a token: its SHA-256 in hex. */
export function tokenSha256(token: string): string {
  return hash('sha256', token, 'hex');
}

/** Whether writing events needs a credential: the fact the discovery record advertises. */
export function authRequired(config: Config): boolean {
  return config.auth.tokens.length > 0 || config.auth.certificates.length > 0;
}

/** Whether a request header carries a credential (Authorization, Proxy-Authorization, the API-key header): never copied anywhere. */
export function isCredentialHeader(name: string, apiKeyHeader: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'authorization' || lower === 'proxy-authorization' || lower === apiKeyHeader.toLowerCase();
}

/** Who sent a request, as a credential says. */
export interface Principal {
  /** `token:<name>` or `cert:<cn>`: the rate-limit key; never the secret. */
  id: string;
  /** The topics it may write. */
  mayWrite: TopicFilter;
}

/**
 * The WWW-Authenticate challenges of a 401 (RFC 6750: the scheme and realm). `basic` adds a Basic
 * challenge, as a header line of its own (browsers read one challenge per line), so that a browser
 * asks for the token, as the password, to show the status page; its requests then carry it.
 */
const challenges = (bearer: string, realm: string, basic: boolean): string | string[] => (basic ? [bearer, `Basic realm="${realm}", charset="UTF-8"`] : bearer);

/** 401 for a request without a credential. */
export const unauthorized = (message: string, realm = 'sparkngin', basic = false): RequestError =>
  new RequestError(401, 'UNAUTHORIZED', message, { 'www-authenticate': challenges(`Bearer realm="${realm}"`, realm, basic) });

/** 401 for a credential that matches nothing. */
export const invalidCredential = (realm = 'sparkngin', basic = false): RequestError =>
  new RequestError(401, 'INVALID_CREDENTIAL', 'the credential is not valid (unknown or revoked token)', {
    'www-authenticate': challenges(`Bearer realm="${realm}", error="invalid_token"`, realm, basic),
  });

/** Stored token hashes (lower-case hex, as the config loader leaves them); finds the grant of a token by its hash. */
export class TokenSet<Grant extends { sha256: string }> {
  private readonly byHash: Map<string, Grant>;

  constructor(grants: readonly Grant[]) {
    this.byHash = new Map(grants.map((grant) => [grant.sha256.toLowerCase(), grant]));
  }

  get size(): number {
    return this.byHash.size;
  }

  find(token: string): Grant | undefined {
    return this.byHash.get(tokenSha256(token));
  }
}

/**
 * The token a request carries: Bearer, Basic (the password part), or the API-key header; '' for an
 * Authorization header of another scheme (a credential we cannot use is a bad one, not none).
 */
export function presentedToken(request: IncomingMessage, apiKeyHeader: string | undefined): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const space = authorization.indexOf(' ');
    const scheme = space === -1 ? '' : authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'bearer') return value;
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1);
    }
    return '';
  }
  if (apiKeyHeader === undefined) return undefined;
  const key = request.headers[apiKeyHeader];
  return Array.isArray(key) ? key[0] : key;
}

/** Who may write which topics: tokens, client certificates and open topics (auth.*). */
export class Authenticator {
  readonly required: boolean;
  readonly isOpen: TopicFilter;
  readonly hasOpenTopics: boolean;
  private readonly tokens: TokenSet<{ sha256: string; principal: Principal }>;
  private readonly certificates: Map<string, TopicFilter>;
  private readonly apiKeyHeader: string;
  /** The principal of a TLS connection's certificate, worked out once per connection. */
  private readonly bySocket = new WeakMap<object, Principal | null>();

  constructor(config: Config) {
    const { auth } = config;
    this.required = authRequired(config);
    this.tokens = new TokenSet(auth.tokens.map((grant) => ({ sha256: grant.sha256, principal: { id: `token:${grant.name}`, mayWrite: topicFilter(grant.topics) } })));
    this.certificates = new Map(auth.certificates.map((grant) => [grant.cn, topicFilter(grant.topics)]));
    this.hasOpenTopics = auth.openTopics.length > 0;
    this.isOpen = this.hasOpenTopics ? topicFilter(auth.openTopics) : () => false;
    this.apiKeyHeader = auth.apiKeyHeader.toLowerCase();
  }

  /** Whether a request header carries a credential (see isCredentialHeader). */
  carriesCredential(header: string): boolean {
    return isCredentialHeader(header, this.apiKeyHeader);
  }

  /**
   * The principal of a request: its token's, else its verified certificate's; undefined when it
   * carries neither (or auth is off). A token that matches nothing is a 401 at once: a client with a
   * wrong or revoked token is misconfigured and should hear so, even for an open topic.
   */
  identify(request: IncomingMessage): Principal | undefined {
    if (!this.required) return undefined;
    const token = presentedToken(request, this.apiKeyHeader);
    if (token !== undefined) {
      const grant = this.tokens.find(token);
      if (grant === undefined) throw invalidCredential();
      return grant.principal;
    }
    return this.certificates.size === 0 ? undefined : this.certificatePrincipal(request.socket as TLSSocket);
  }

  private certificatePrincipal(socket: TLSSocket): Principal | undefined {
    let principal = this.bySocket.get(socket);
    if (principal === undefined) {
      principal = null;
      // `authorized`: the chain was verified against tls.ca (with clientCerts 'request', a
      // certificate that fails is let through the handshake but is no credential).
      if (socket.authorized === true) {
        const cn = socket.getPeerCertificate().subject?.CN;
        const name = Array.isArray(cn) ? cn[0] : cn;
        const topics = name === undefined ? undefined : this.certificates.get(name);
        if (topics !== undefined) principal = { id: `cert:${name}`, mayWrite: topics };
      }
      this.bySocket.set(socket, principal);
    }
    return principal ?? undefined;
  }
}
