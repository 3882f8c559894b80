// A DNS-SD browser for `_sparkngin._tcp` (RFC 6763) over multicast-dns: a cache of the records heard,
// with their TTLs, from which instances are assembled, joined and left.
//
// Why not bonjour-service's Browser, when bonjour-service advertises: it builds a service only from a
// packet that holds PTR, SRV, TXT and addresses together, and never asks for what is missing (a
// responder that answers a PTR query with the PTR alone is never resolved); it asks once and never
// again (no continuous querying, so an instance that missed the one query stays unknown, and one that
// died without a goodbye stays listed for the PTR's TTL, 8 hours with bonjour-service's own); it keeps
// every name it ever heard, without bound; and it takes TXT strings as they come (no check of UTF-8,
// repeated keys, or sizes). This browser keeps records with their TTLs, asks again for what is
// missing, queries continuously (1 s, 2 s, 4 s, … up to every 30 s, well inside the 120 s of an SRV
// record), and holds at most `maxInstances` instances, a few addresses each: anyone on the LAN can
// send it anything, and it can neither crash nor grow.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Question } from 'dns-packet';
import createMdns, { type MulticastDNS, type ResponsePacket } from 'multicast-dns';
import { SparknginError } from '../errors';
import { advertisedInterfaces } from './addresses';
import { sameName, ttlOf } from './names';
import { decodeTxt, readTxt, SERVICE_TYPE, type TxtFacts } from './txt';

/** What an advertisement says of one instance. This shape is the client's (src/client/) contract. */
export interface DiscoveredInstance {
  /** Instance name (`Sparkngin on ingest-01`). */
  name: string;
  /** SRV target host (`ingest-01.local`). */
  host: string;
  port: number;
  /** Its addresses from the advertisement, IPv4 first. */
  addresses: string[];
  /** The TXT record, keys in lower case. */
  txt: Record<string, string>;
  instanceId?: string;
  version?: string;
  /** API base path: events go to POST {url}{basePath}/topics/{topic}. */
  basePath: string;
  proto: 'http' | 'https';
  /** Ingest protocols it takes (`http`, later `zmq`). */
  ingest: string[];
  /** Whether writing events needs a credential. */
  tokenRequired: boolean;
  /** `proto://address:port`, one per usable address (IPv6 link-local ones left out), IPv4 first. */
  urls: string[];
  /** After probing: whether one of the urls answered GET /health with 200. */
  reachable?: boolean;
}

export interface BrowseOptions {
  /** Interfaces to browse on, by name; default every interface with an IPv4 address, loopback aside. */
  interfaces?: string[];
  /** Most instances held at once; advertisements of more are skipped. */
  maxInstances?: number;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: 'join' | 'leave' | 'update';
  instance: DiscoveredInstance;
}

interface BrowserEvents {
  join: [DiscoveredInstance];
  leave: [DiscoveredInstance];
  update: [DiscoveredInstance];
  /** An advertisement that cannot be used (bad TXT data, too many instances): its name and why. */
  skipped: [string, string];
  /** A socket failed (the mDNS port cannot be bound); browsing goes on with the others. */
  problem: [Error];
  close: [];
}

/** No interface to browse on. */
export class NoInterfaceError extends SparknginError {
  constructor(wanted: readonly string[]) {
    super('DISCOVERY_NO_INTERFACE', wanted.length > 0 ? `no interface named ${wanted.join(', ')} with an IPv4 address` : 'no network interface with an IPv4 address other than loopback');
  }
}

const SERVICE = `_${SERVICE_TYPE}._tcp.local`;
const MAX_ADDRESSES_PER_HOST = 16;
const MAX_RECORDS_PER_PACKET = 1024;
const MAX_QUESTIONS_PER_TICK = 32;
const TICK_MS = 250;
const FIRST_QUERY_INTERVAL_MS = 1000;
const MAX_QUERY_INTERVAL_MS = 30_000;
/** An instance whose SRV is known joins after this even if its TXT or addresses never come. */
const RESOLVE_GRACE_MS = 1500;
/** A name heard in a pointer whose SRV record never comes is forgotten after this (heard again, it is asked for again). */
const UNRESOLVED_MS = 10_000;
/** A goodbye's records live on this long (RFC 6762 §10.1), so that a packet reordered after it does not resurrect them. */
const GOODBYE_MS = 1000;
/** Events waiting for an async iterator that does not read; older ones are dropped past this. */
const MAX_QUEUED_EVENTS = 10_000;
const DEFAULT_MAX_INSTANCES = 1024;

interface Entry {
  fqdn: string;
  name: string;
  ptrExpires: number;
  srv?: { port: number; target: string; expires: number; since: number };
  txt?: { facts: TxtFacts | string; expires: number };
  /** What was last announced by a join or update; undefined before the join. */
  joined?: DiscoveredInstance;
  /** The TXT problem last reported, so that one is reported once. */
  reported?: string;
  createdAt: number;
  askedAt: number;
}

export class InstanceBrowser extends EventEmitter<BrowserEvents> implements AsyncIterable<WatchEvent> {
  private readonly sockets: MulticastDNS[];
  private readonly entries = new Map<string, Entry>();
  /** SRV target (lower case) → address → expiry. */
  private readonly hosts = new Map<string, Map<string, number>>();
  private readonly skippedNames = new Set<string>();
  private readonly maxInstances: number;
  private readonly timer: NodeJS.Timeout;
  private nextQueryAt = 0;
  private queryInterval = FIRST_QUERY_INTERVAL_MS;
  private closed = false;
  private readonly onAbort = () => void this.close();

  constructor(options: BrowseOptions = {}) {
    super();
    const interfaces = advertisedInterfaces('0.0.0.0', options.interfaces ?? []);
    if (interfaces.length === 0) throw new NoInterfaceError(options.interfaces ?? []);
    this.maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
    this.sockets = interfaces.map(({ multicastVia }) => {
      const mdns = createMdns({ interface: multicastVia, bind: '0.0.0.0' });
      mdns.on('error', (error: Error) => this.emit('problem', error));
      // Packets that do not decode are the sender's problem; multicast-dns reports them here.
      mdns.on('warning', () => undefined);
      mdns.on('response', (packet: ResponsePacket) => this.receive(packet));
      return mdns;
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) void this.close();
    else this.tick();
  }

  /** The instances joined now. */
  instances(): DiscoveredInstance[] {
    return [...this.entries.values()].flatMap((entry) => (entry.joined ? [entry.joined] : []));
  }

  /** Every instance whose SRV is known, joined or not yet (its TXT or addresses may still be missing). */
  known(): DiscoveredInstance[] {
    return [...this.entries.values()].flatMap((entry) => {
      const instance = this.assemble(entry);
      return instance ? [instance] : [];
    });
  }

  /** Stops browsing and closes the sockets; an async iterator ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.emit('close');
    await Promise.all(this.sockets.map((mdns) => new Promise<void>((resolve) => mdns.destroy(() => resolve()))));
  }

  /** Joins, updates and leaves as they happen, until close() or the abort signal. */
  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    const push = (type: WatchEvent['type']) => (instance: DiscoveredInstance) => {
      if (queue.length >= MAX_QUEUED_EVENTS) queue.shift();
      queue.push({ type, instance });
      wake?.();
    };
    const listeners = { join: push('join'), leave: push('leave'), update: push('update') };
    const onClose = () => wake?.();
    for (const [event, listener] of Object.entries(listeners)) this.on(event as 'join', listener);
    this.on('close', onClose);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (this.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      for (const [event, listener] of Object.entries(listeners)) this.off(event as 'join', listener);
      this.off('close', onClose);
    }
  }

  private receive(packet: ResponsePacket): void {
    if (this.closed) return;
    const now = Date.now();
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])].slice(0, MAX_RECORDS_PER_PACKET);
    const touched = new Set<Entry>();
    for (const record of records) {
      if (record.type === 'PTR' && sameName(record.name, SERVICE) && typeof record.data === 'string') this.onPointer(record.data, ttlOf(record), now, touched);
    }
    for (const record of records) {
      if (record.type !== 'SRV' && record.type !== 'TXT') continue;
      const entry = this.entries.get(record.name.toLowerCase());
      if (entry === undefined) continue;
      const ttl = ttlOf(record);
      if (record.type === 'SRV') this.onService(entry, record.data, ttl, now);
      else entry.txt = { facts: readTxt(decodeTxt(txtStrings(record.data))), expires: now + (ttl === 0 ? GOODBYE_MS : ttl * 1000) };
      touched.add(entry);
    }
    const targets = new Map<string, Entry[]>();
    for (const entry of this.entries.values()) {
      if (entry.srv === undefined) continue;
      const target = entry.srv.target.toLowerCase();
      const users = targets.get(target);
      if (users) users.push(entry);
      else targets.set(target, [entry]);
    }
    for (const record of records) {
      if ((record.type !== 'A' && record.type !== 'AAAA') || typeof record.data !== 'string' || isIP(record.data) === 0) continue;
      const target = record.name.toLowerCase();
      const users = targets.get(target);
      if (users === undefined) continue;
      const addresses = this.hosts.get(target) ?? new Map<string, number>();
      const ttl = ttlOf(record);
      if (addresses.has(record.data) || addresses.size < MAX_ADDRESSES_PER_HOST) addresses.set(record.data, now + (ttl === 0 ? GOODBYE_MS : ttl * 1000));
      this.hosts.set(target, addresses);
      for (const entry of users) touched.add(entry);
    }
    for (const entry of touched) this.evaluate(entry, now);
  }

  private onPointer(fqdn: string, ttl: number, now: number, touched: Set<Entry>): void {
    const key = fqdn.toLowerCase();
    const suffix = `.${SERVICE}`;
    if (!key.endsWith(suffix) || fqdn.length === suffix.length || fqdn.length > 255) return;
    let entry = this.entries.get(key);
    if (ttl === 0) {
      if (entry) this.remove(entry);
      return;
    }
    if (entry === undefined) {
      const name = fqdn.slice(0, -suffix.length);
      if (this.entries.size >= this.maxInstances) return this.skip(name, `more than ${this.maxInstances} instances`);
      entry = { fqdn, name, ptrExpires: 0, createdAt: now, askedAt: 0 };
      this.entries.set(key, entry);
    }
    entry.ptrExpires = now + ttl * 1000;
    touched.add(entry);
  }

  private onService(entry: Entry, data: unknown, ttl: number, now: number): void {
    const srv = data as { port?: unknown; target?: unknown };
    if (ttl === 0) {
      if (entry.srv) entry.srv.expires = Math.min(entry.srv.expires, now + GOODBYE_MS);
      return;
    }
    if (typeof srv.port !== 'number' || !Number.isInteger(srv.port) || srv.port < 1 || srv.port > 65535 || typeof srv.target !== 'string' || srv.target.length === 0 || srv.target.length > 255) {
      return this.skip(entry.name, 'its SRV record has no usable port and host');
    }
    const since = entry.srv && entry.srv.target === srv.target && entry.srv.port === srv.port ? entry.srv.since : now;
    entry.srv = { port: srv.port, target: srv.target, expires: now + ttl * 1000, since };
  }

  /** Joins, updates or leaves an instance after its records changed. */
  private evaluate(entry: Entry, now: number): void {
    const facts = entry.txt?.facts;
    if (typeof facts === 'string') {
      if (entry.reported !== facts) {
        entry.reported = facts;
        this.skip(entry.name, facts);
      }
      if (entry.joined) {
        const left = entry.joined;
        entry.joined = undefined;
        this.emit('leave', left);
      }
      return;
    }
    const complete = entry.srv !== undefined && entry.txt !== undefined && this.addressesOf(entry.srv.target, now).length > 0;
    const waitedEnough = entry.srv !== undefined && now - entry.srv.since >= RESOLVE_GRACE_MS;
    if (!complete && !waitedEnough && entry.joined === undefined) return;
    const instance = this.assemble(entry);
    if (instance === undefined) return;
    if (entry.joined === undefined) {
      entry.joined = instance;
      this.emit('join', instance);
    } else if (JSON.stringify(entry.joined) !== JSON.stringify(instance)) {
      entry.joined = instance;
      this.emit('update', instance);
    }
  }

  private assemble(entry: Entry): DiscoveredInstance | undefined {
    const { srv } = entry;
    if (srv === undefined) return undefined;
    // No TXT record (yet): the defaults a bare `_sparkngin._tcp` service means.
    const facts = entry.txt?.facts ?? readTxt({});
    if (typeof facts === 'string') return undefined;
    const addresses = this.addressesOf(srv.target, Date.now());
    const urls = addresses.filter((address) => !/^fe[89ab]/i.test(address)).map((address) => `${facts.proto}://${isIP(address) === 6 ? `[${address}]` : address}:${srv.port}`);
    return {
      name: entry.name,
      host: srv.target,
      port: srv.port,
      addresses,
      txt: facts.txt,
      ...(facts.instanceId !== undefined ? { instanceId: facts.instanceId } : {}),
      ...(facts.version !== undefined ? { version: facts.version } : {}),
      basePath: facts.basePath,
      proto: facts.proto,
      ingest: facts.ingest,
      tokenRequired: facts.tokenRequired,
      urls,
    };
  }

  private addressesOf(target: string, now: number): string[] {
    const addresses = [...(this.hosts.get(target.toLowerCase()) ?? [])].filter(([, expires]) => expires > now).map(([address]) => address);
    return [...addresses.filter((address) => isIP(address) === 4).sort(), ...addresses.filter((address) => isIP(address) === 6).sort()];
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.fqdn.toLowerCase());
    if (entry.srv && ![...this.entries.values()].some((other) => other.srv?.target.toLowerCase() === entry.srv!.target.toLowerCase())) {
      this.hosts.delete(entry.srv.target.toLowerCase());
    }
    if (entry.joined) this.emit('leave', entry.joined);
  }

  private skip(name: string, why: string): void {
    const key = `${name}\n${why}`;
    if (this.skippedNames.has(key)) return;
    // Bounded: past this many, skips are no longer remembered (and may be reported again).
    if (this.skippedNames.size >= this.maxInstances) this.skippedNames.clear();
    this.skippedNames.add(key);
    this.emit('skipped', name, why);
  }

  /** Expires what outlived its TTL, asks for what is missing, and queries for instances when due. */
  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const [target, addresses] of this.hosts) {
      for (const [address, expires] of addresses) if (expires <= now) addresses.delete(address);
      if (addresses.size === 0) this.hosts.delete(target);
    }
    const questions: Question[] = [];
    for (const entry of [...this.entries.values()]) {
      const unresolved = entry.srv === undefined && now - entry.createdAt >= UNRESOLVED_MS;
      if (entry.ptrExpires <= now || (entry.srv !== undefined && entry.srv.expires <= now) || unresolved) {
        this.remove(entry);
        continue;
      }
      if (entry.txt !== undefined && entry.txt.expires <= now) entry.txt = undefined;
      this.evaluate(entry, now);
      if (questions.length < MAX_QUESTIONS_PER_TICK && now - entry.askedAt >= FIRST_QUERY_INTERVAL_MS) {
        const missing = this.missing(entry, now);
        if (missing.length > 0) {
          questions.push(...missing);
          entry.askedAt = now;
        }
      }
    }
    if (now >= this.nextQueryAt) {
      questions.unshift({ name: SERVICE, type: 'PTR' });
      this.nextQueryAt = now + this.queryInterval;
      this.queryInterval = Math.min(this.queryInterval * 2, MAX_QUERY_INTERVAL_MS);
    }
    if (questions.length > 0) for (const mdns of this.sockets) mdns.query({ questions });
  }

  /** The questions that would complete an entry: its SRV and TXT, or its host's addresses. */
  private missing(entry: Entry, now: number): Question[] {
    if (entry.srv === undefined || entry.txt === undefined) {
      return [
        { name: entry.fqdn, type: 'SRV' },
        { name: entry.fqdn, type: 'TXT' },
      ];
    }
    if (this.addressesOf(entry.srv.target, now).length === 0) {
      return [
        { name: entry.srv.target, type: 'A' },
        { name: entry.srv.target, type: 'AAAA' },
      ];
    }
    return [];
  }
}

/** The strings of a TXT record's data as dns-packet decodes it (a Buffer or a list of them). */
function txtStrings(data: unknown): Uint8Array[] {
  if (Buffer.isBuffer(data)) return [data];
  if (Array.isArray(data)) return data.filter((item): item is Uint8Array => item instanceof Uint8Array);
  return [];
}
