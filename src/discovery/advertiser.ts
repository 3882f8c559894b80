// Advertising an instance on the LAN: `_sparkngin._tcp` (with the TXT record of txt.ts), and the
// same instance as `_http._tcp` (`_https._tcp` under TLS) with the subtype `_sparkngin._sub`, so
// that generic browsers list it and DNS-SD browsers can ask for Sparkngin among HTTP services.
//
// bonjour-service answers the queries, announces, and sends the goodbyes (TTL 0) on unpublish. Per
// interface, one bonjour-service instance (one socket joined to 224.0.0.251 on that interface and
// sending from it), whose address records name that interface's addresses only (a patch adds the
// `addresses` option: patches/README.md): a multi-homed host answers each link with the addresses
// reachable there (RFC 6762 §14). What it lacks, this module adds: names probed before use and
// renamed on a conflict (names.ts), interfaces and addresses read again every few seconds (an
// interface that comes up is advertised on; one whose addresses changed is withdrawn and announced
// again with the new ones; one that went away is dropped), and one work queue so that none of these
// runs into another or into stop().
import { Bonjour, type ServiceConfig } from 'bonjour-service';
import type { MulticastDNS, ResponsePacket } from 'multicast-dns';
import type { Logger } from '../ops/log';
import { type AdvertisedInterface, advertisedInterfaces } from './addresses';
import { baseName, losesConflict, nameTaken, nextName, sameName, type SrvData, ttlOf } from './names';
import { type AdvertisedFacts, buildTxt, SERVICE_TYPE } from './txt';

/** Names tried before giving up (`X`, `X (2)`, … `X (100)`): past that, something answers for every name. */
const MAX_NAMES = 100;
/** Longest a goodbye may take at stop: a stop never hangs on a socket. */
const GOODBYE_TIMEOUT_MS = 1000;

export interface AdvertiserOptions {
  /** The address the ingest listener is bound to (server.address().address) and its port. */
  listenAddress: string;
  port: number;
  /** discovery.name; '' = `Sparkngin on HOST`. */
  name: string;
  /** The host name; its first label names the SRV target `<label>.local` and the default instance name. */
  host: string;
  /** discovery.interfaces: only these (by name); empty = every interface the listener can be reached on. */
  interfaces: readonly string[];
  facts: AdvertisedFacts;
  logger: Logger;
  /** How often interfaces and addresses are read again, in ms. */
  pollMs?: number;
}

/** One interface advertised on: its addresses, its bonjour-service instance and what it published. */
interface Link {
  iface: AdvertisedInterface;
  bonjour: Bonjour;
  mdns: MulticastDNS;
}

export class Advertiser {
  private readonly links = new Map<string, Link>();
  private current: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** No interface to advertise on was logged (once, until one comes). */
  private idle = false;
  private readonly target: string;
  private readonly txt: Record<string, string>;

  private constructor(private readonly options: AdvertiserOptions) {
    this.target = `${options.host.split('.')[0]}.local`;
    this.txt = buildTxt(options.facts);
  }

  /**
   * Advertises on every interface there is now, and keeps up with the interfaces from then on. Returns
   * at once: probing the name takes most of a second, which the daemon's start does not wait for.
   */
  static start(options: AdvertiserOptions): Advertiser {
    const advertiser = new Advertiser(options);
    void advertiser.enqueue(() => advertiser.sync());
    advertiser.timer = setInterval(() => void advertiser.enqueue(() => advertiser.sync()), options.pollMs ?? 5000);
    advertiser.timer.unref();
    return advertiser;
  }

  /** Resolves when the work started so far (the first probe and announcement) is done. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** The instance name in use (undefined while there is no interface to advertise on). */
  get name(): string | undefined {
    return this.current;
  }

  /** The interfaces advertised on now. */
  get interfaces(): string[] {
    return [...this.links.keys()];
  }

  /** Withdraws the advertisement (goodbye packets on every interface) and closes the sockets. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.queue;
    await Promise.all([...this.links.values()].map((link) => this.close(link)));
    this.links.clear();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (error) {
        this.options.logger.warn('discovery.failed', { error });
      }
    });
    return this.queue;
  }

  /** Brings the links in line with the interfaces there are now. */
  private async sync(): Promise<void> {
    const wanted = advertisedInterfaces(this.options.listenAddress, this.options.interfaces);
    for (const [name, link] of [...this.links]) {
      const now = wanted.find((iface) => iface.name === name);
      if (now === undefined || now.multicastVia !== link.iface.multicastVia) {
        this.links.delete(name);
        await this.close(link);
        this.options.logger.info('discovery.interface-gone', { interface: name });
      } else if (now.addresses.join() !== link.iface.addresses.join()) {
        await goodbye(link);
        this.options.logger.info('discovery.addresses-changed', { interface: name, from: link.iface.addresses, to: now.addresses });
        link.iface = now;
        this.publish(link);
      }
    }
    if (wanted.length === 0 && this.links.size === 0 && !this.idle) {
      this.idle = true;
      this.options.logger.info('discovery.no-interface', { listen: this.options.listenAddress, interfaces: this.options.interfaces, note: 'advertised as soon as one comes up' });
    }
    const added = wanted.filter((iface) => !this.links.has(iface.name)).map((iface) => this.open(iface));
    if (added.length === 0) return;
    this.idle = false;
    for (const link of added) this.links.set(link.iface.name, link);
    if (this.current === undefined) {
      this.current = await this.claim(baseName(this.options.name, this.options.host));
      if (this.current === undefined) return;
    } else if (await nameTaken(added.map((link) => link.mdns), this.fqdns(this.current))) {
      // A new link where our name is taken: the name changes everywhere.
      return this.rename();
    }
    for (const link of added) this.publish(link);
    this.options.logger.info('discovery.advertised', {
      name: this.current,
      type: `_${SERVICE_TYPE}._tcp`,
      port: this.options.port,
      interfaces: added.map((link) => ({ name: link.iface.name, addresses: link.iface.addresses })),
      txt: this.txt,
    });
  }

  /** The first free name from `start` on, or undefined when every name tried is taken. */
  private async claim(start: string): Promise<string | undefined> {
    let name = start;
    const links = [...this.links.values()].map((link) => link.mdns);
    for (let tried = 0; tried < MAX_NAMES; tried++) {
      if (!(await nameTaken(links, this.fqdns(name)))) return name;
      this.options.logger.info('discovery.name-taken', { name });
      name = nextName(name);
    }
    this.options.logger.warn('discovery.no-free-name', { from: start, tried: MAX_NAMES });
    return undefined;
  }

  /** A conflict: withdraw the name everywhere, find the next free one, announce it everywhere. */
  private async rename(): Promise<void> {
    const from = this.current!;
    await Promise.all([...this.links.values()].map(goodbye));
    this.current = await this.claim(nextName(from));
    this.options.logger.warn('discovery.renamed', { from, to: this.current });
    if (this.current === undefined) return;
    for (const link of this.links.values()) this.publish(link);
  }

  /** The names probed for a candidate: the instance under both types it is published as. */
  private fqdns(name: string): string[] {
    return [`${name}._${SERVICE_TYPE}._tcp.local`, `${name}._${this.options.facts.proto}._tcp.local`];
  }

  private open(iface: AdvertisedInterface): Link {
    const { logger } = this.options;
    // `interface`: join the group and send on this interface only; bind to the wildcard address,
    // since a socket bound to the interface's unicast address never receives multicast.
    const socketOptions = { interface: iface.multicastVia, bind: '0.0.0.0' } as unknown as Partial<ServiceConfig>;
    const bonjour = new Bonjour(socketOptions, (error: Error) => logger.warn('discovery.send-failed', { interface: iface.name, error }));
    const mdns = (bonjour as unknown as { server: { mdns: MulticastDNS } }).server.mdns;
    // bonjour-service leaves 'error' (the mDNS port cannot be bound) to us; unheard, it would end the process.
    mdns.on('error', (error: Error) => logger.warn('discovery.socket-failed', { interface: iface.name, error }));
    mdns.on('warning', (error: Error) => logger.debug('discovery.socket-warning', { interface: iface.name, error }));
    mdns.on('response', (packet: ResponsePacket) => {
      // Packets come from anyone on the LAN: whatever is in one, the daemon goes on.
      try {
        this.watchConflicts(packet);
      } catch (error) {
        logger.warn('discovery.bad-packet', { interface: iface.name, error });
      }
    });
    return { iface, bonjour, mdns };
  }

  private publish(link: Link): void {
    if (this.current === undefined) return;
    const common = { name: this.current, port: this.options.port, host: this.target, addresses: link.iface.addresses, probe: false };
    link.bonjour.publish({ ...common, type: SERVICE_TYPE, txt: this.txt });
    // For a generic browser, the page worth opening is /health.
    link.bonjour.publish({ ...common, type: this.options.facts.proto, subtypes: [SERVICE_TYPE], txt: { txtvers: this.txt.txtvers!, path: '/health', id: this.txt.id! } });
  }

  /** §9: another host announcing other data under our name after we announced it. */
  private watchConflicts(packet: ResponsePacket): void {
    if (this.current === undefined) return;
    const ours: SrvData = { port: this.options.port, target: this.target };
    const mine = this.fqdns(this.current);
    for (const record of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
      if (record.type !== 'SRV' || ttlOf(record) === 0 || !mine.some((fqdn) => sameName(fqdn, record.name))) continue;
      const theirs = record.data as { port?: unknown; target?: unknown };
      if (typeof theirs.port !== 'number' || typeof theirs.target !== 'string') continue;
      if (losesConflict(ours, { port: theirs.port, target: theirs.target })) {
        const name = this.current;
        void this.enqueue(async () => {
          if (this.current === name) await this.rename();
        });
      } else if (theirs.port !== ours.port || !sameName(theirs.target, ours.target)) {
        // We keep the name; they rename (or are not a DNS-SD responder that cares).
        this.options.logger.debug('discovery.conflict-won', { name: this.current, theirs: { port: theirs.port, target: theirs.target } });
      }
      return;
    }
  }

  private async close(link: Link): Promise<void> {
    await goodbye(link);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
      link.bonjour.destroy(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Unpublishes everything on a link: one packet of its records with TTL 0 (RFC 6762 §10.1). */
function goodbye(link: Link): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GOODBYE_TIMEOUT_MS);
    link.bonjour.unpublishAll(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
