// Per-client rate limits: token buckets for requests, events and bytes per second, keyed by the
// client's credential (all who share a token share its limit) or, without one, its address (an
// IPv6 client by its /64, which one host usually owns whole). A request is let in while its client
// has a request token and owes no events or bytes; what it stored is charged afterwards and may
// take the buckets below zero, so a large request is never refused after its body was read: the
// client waits for the debt to be repaid instead. Refusals are 429 with Retry-After: the seconds
// until the client would be let in.
//
// Memory: one small entry per client in an LRU cache (lru-cache: O(1) per hit and eviction; a Map
// used as an LRU, deleting its oldest key, costs V8 a scan over the holes deletes leave: 136 µs a
// request under a flood of new addresses, against 5 µs here). Past `maxClients` the least recently
// seen client is forgotten; it comes back with full buckets, which errs on its side. The cache is
// made only when a limit is set: lru-cache allocates its arrays for `maxClients` up front (100 000:
// ~3 MB, and that allocation and its GC stood out in CPU profiles of a start), unused with limits off.
//
// Why not a sliding-window counter or a fixed window per second: a bucket allows a configured burst
// and then a steady rate, which is what a client with a spiky but fair load needs, in O(1) per
// request with no timers (buckets are refilled lazily from the clock when the client is seen).
import { LRUCache } from 'lru-cache';
import { RequestError } from '../errors';

export interface RateLimits {
  requestsPerSecond: number;
  eventsPerSecond: number;
  bytesPerSecond: number;
  burstSeconds: number;
  maxClients: number;
}

/** Levels of a client's three buckets, and when they were last brought up to date. */
interface Buckets {
  requests: number;
  events: number;
  bytes: number;
  atMs: number;
}

export class RateLimiter {
  readonly enabled: boolean;
  private readonly clients: LRUCache<string, Buckets> | undefined;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = limits.requestsPerSecond > 0 || limits.eventsPerSecond > 0 || limits.bytesPerSecond > 0;
    this.clients = this.enabled ? new LRUCache({ max: limits.maxClients }) : undefined;
  }

  /** Clients remembered now (at most `maxClients`). */
  get size(): number {
    return this.clients?.size ?? 0;
  }

  /** Lets a request of `client` in, taking one request token; throws 429 RATE_LIMITED otherwise. */
  admit(client: string): void {
    if (!this.enabled) return;
    const buckets = this.buckets(client);
    const { requestsPerSecond, eventsPerSecond, bytesPerSecond } = this.limits;
    // Seconds until each bucket would let the request in (0: it does now).
    const wait = Math.max(
      requestsPerSecond > 0 && buckets.requests < 1 ? (1 - buckets.requests) / requestsPerSecond : 0,
      eventsPerSecond > 0 && buckets.events < 0 ? -buckets.events / eventsPerSecond : 0,
      bytesPerSecond > 0 && buckets.bytes < 0 ? -buckets.bytes / bytesPerSecond : 0,
    );
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait));
      throw new RequestError(429, 'RATE_LIMITED', `too many requests from this client; retry in ${seconds} s`, { 'retry-after': String(seconds) });
    }
    if (requestsPerSecond > 0) buckets.requests -= 1;
  }

  /** Charges what a let-in request stored; may leave the client owing (see admit). */
  charge(client: string, events: number, bytes: number): void {
    if (!this.enabled) return;
    const buckets = this.buckets(client);
    buckets.events -= events;
    buckets.bytes -= bytes;
  }

  /** The client's buckets, refilled to now and marked most recently used. */
  private buckets(client: string): Buckets {
    const now = this.now();
    const clients = this.clients!; // made whenever a limit is set: the only case callers get here
    let buckets = clients.get(client);
    if (buckets === undefined) {
      const { requestsPerSecond, eventsPerSecond, bytesPerSecond, burstSeconds } = this.limits;
      buckets = { requests: requestsPerSecond * burstSeconds, events: eventsPerSecond * burstSeconds, bytes: bytesPerSecond * burstSeconds, atMs: now };
      clients.set(client, buckets);
    } else {
      this.refill(buckets, now);
    }
    return buckets;
  }

  private refill(buckets: Buckets, now: number): void {
    const seconds = Math.max(0, now - buckets.atMs) / 1000;
    if (seconds === 0) return;
    const { requestsPerSecond, eventsPerSecond, bytesPerSecond, burstSeconds } = this.limits;
    buckets.requests = Math.min(requestsPerSecond * burstSeconds, buckets.requests + requestsPerSecond * seconds);
    buckets.events = Math.min(eventsPerSecond * burstSeconds, buckets.events + eventsPerSecond * seconds);
    buckets.bytes = Math.min(bytesPerSecond * burstSeconds, buckets.bytes + bytesPerSecond * seconds);
    buckets.atMs = now;
  }
}

/** The rate-limit key of an address: an IPv4 address whole, an IPv6 one by its first 64 bits. */
export function addressKey(address: string): string {
  if (address.indexOf(':') === -1) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => (Number.parseInt(group, 16) || 0).toString(16))
    .join(':')}::/64`;
}
