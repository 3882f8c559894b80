// Sends metrics to gmond over UDP (protocol.ts): every `intervalMs` a value message per metric, each
// preceded by its metadata when the metric is new or its metadata was last sent more than
// `metadataIntervalMs` ago (a restarted gmond knows nothing until then). Unicast to each configured
// gmond by default; a destination in 224.0.0.0/4 or ff00::/8 is multicast, which only a user can ask
// for by naming such an address, sent with `multicastTtl` (default 1: this link only).
//
// UDP is fire and forget: a gmond that is down costs nothing but a log line when sending starts to
// fail and one when it works again, never one per datagram.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../log';
import { encodeMetadata, encodeValue, type GangliaMetric, type GangliaSource, valueText } from './protocol';

export interface GangliaSample {
  metric: GangliaMetric;
  value: number | string;
}

export interface GangliaDestination {
  host: string;
  port: number;
}

export interface PublisherOptions {
  destinations: GangliaDestination[];
  /** Whose metrics they are (protocol.ts GangliaSource). */
  source: GangliaSource;
  intervalMs: number;
  metadataIntervalMs: number;
  multicastTtl: number;
  /** Address of the interface multicast goes out of; '' = the system's choice. */
  multicastInterface: string;
  collect: () => GangliaSample[];
  logger: Logger;
}

/** `host:port`, `[v6]:port` or a bare host (Ganglia's port 8649) → destination. */
export function parseDestination(text: string): GangliaDestination {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] === undefined ? 8649 : Number(bracketed[2]) };
  const colon = text.lastIndexOf(':');
  // A bare IPv6 address has colons but no port.
  if (colon < 0 || isIP(text) === 6) return { host: text, port: 8649 };
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

export class GangliaPublisher {
  private readonly sockets = new Map<4 | 6, Promise<Socket>>();
  /** When each metric's metadata was last sent (ms), by name. */
  private readonly metadataSentAt = new Map<string, number>();
  /** Destinations whose last send failed, so that a failure is logged once, and the recovery. */
  private readonly failing = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly options: PublisherOptions) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One round now (also what the timer runs); resolves when its datagrams are handed to the kernel. */
  publish(): Promise<void> {
    // A round that fails (a metric that cannot be encoded: a bug) is logged; the next one still runs.
    this.round = this.round.then(() => this.sendRound()).catch((error: unknown) => this.options.logger.error('ganglia.round_failed', { error }));
    return this.round;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
    for (const socket of this.sockets.values()) (await socket).close();
    this.sockets.clear();
  }

  private tick(): void {
    void this.publish();
  }

  private async sendRound(): Promise<void> {
    const now = Date.now();
    const messages: Buffer[] = [];
    for (const { metric, value } of this.options.collect()) {
      const sentAt = this.metadataSentAt.get(metric.name);
      if (sentAt === undefined || now - sentAt >= this.options.metadataIntervalMs) {
        messages.push(encodeMetadata(this.options.source, metric));
        this.metadataSentAt.set(metric.name, now);
      }
      messages.push(encodeValue(this.options.source, metric.name, valueText(metric.type, value)));
    }
    await Promise.all(this.options.destinations.map((destination) => this.sendAll(destination, messages)));
  }

  private async sendAll(destination: GangliaDestination, messages: readonly Buffer[]): Promise<void> {
    const label = `${destination.host}:${destination.port}`;
    try {
      const { address, family } = await lookup(destination.host);
      const socket = await this.socketFor(family === 6 ? 6 : 4);
      for (const message of messages) {
        await new Promise<void>((resolve, reject) => socket.send(message, destination.port, address, (error) => (error ? reject(error) : resolve())));
      }
      if (this.failing.delete(label)) this.options.logger.info('ganglia.send_recovered', { destination: label });
    } catch (error) {
      if (!this.failing.has(label)) this.options.logger.warn('ganglia.send_failed', { destination: label, error });
      this.failing.add(label);
    }
  }

  /** The socket of a family, bound (multicast settings need a bound socket) and set up once. */
  private socketFor(family: 4 | 6): Promise<Socket> {
    let socket = this.sockets.get(family);
    if (socket === undefined) {
      const created = createSocket(family === 6 ? 'udp6' : 'udp4');
      created.on('error', (error) => this.options.logger.warn('ganglia.socket_error', { error }));
      created.unref();
      socket = new Promise<Socket>((resolve) =>
        created.bind(0, () => {
          // Only multicast destinations use these: unicast ignores them.
          created.setMulticastTTL(this.options.multicastTtl);
          if (this.options.multicastInterface !== '') created.setMulticastInterface(this.options.multicastInterface);
          resolve(created);
        }),
      );
      this.sockets.set(family, socket);
    }
    return socket;
  }
}
