// The instances a client sends to, and which one takes the next batch. An instance is `up` until a
// request to it fails in a way that says it is gone (connection refused or reset, no answer, 5xx);
// then it is `down` and probed (`GET /health`) every healthIntervalMs until it answers, and back in
// rotation from that moment. An instance that answers 503 or 429 is up but `busy` until its
// Retry-After has passed. Failing over is therefore immediate (the next batch, or the retry of the
// failed one, goes to another instance up), and failing back takes at most one probe interval.
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Http1Pool } from './http1';
import type { Balance, ClientLogger, ClientSettings, ZmqSettings } from './options';
import { MAX_ANSWER_BYTES } from './transport';
import { isZmqUrl, ZmqChannel } from './transport-zmq';

export interface InstanceStats {
  url: string;
  state: 'up' | 'down';
  busyForMs: number;
  inFlight: number;
  /** Events this instance acknowledged. */
  acked: number;
  failures: number;
  lastError: string | undefined;
}

export class Instance {
  state: 'up' | 'down' = 'up';
  busyUntil = 0;
  inFlight = 0;
  acked = 0;
  failures = 0;
  lastError: string | undefined;
  /** An https:// instance: node:https's keep-alive agent. */
  readonly agent: HttpsAgent | undefined;
  /** An http:// instance: our keep-alive connections (http1.ts). */
  readonly http1: Http1Pool | undefined;
  /** A `tcp://` instance: its ROUTER, through which its requests go (transport-zmq.ts). */
  readonly zmq: ZmqChannel | undefined;
  probeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: string,
    readonly base: URL,
    maxSockets: number,
    readonly tls: ClientSettings['tls'],
    zmq: ZmqSettings,
  ) {
    this.agent = base.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets, scheduling: 'lifo', ...tls }) : undefined;
    // A bracketed IPv6 literal is a host without its brackets to connect to.
    this.http1 = base.protocol === 'http:' ? new Http1Pool(base.hostname.replace(/^\[(.*)\]$/, '$1'), Number(base.port || 80), maxSockets, MAX_ANSWER_BYTES) : undefined;
    this.zmq = isZmqUrl(base) ? new ZmqChannel(base, zmq) : undefined;
  }

  available(now: number): boolean {
    return this.state === 'up' && this.busyUntil <= now;
  }
}

export class InstancePool {
  private instances: Instance[] = [];
  private next = 0;
  private readonly listeners = new Set<() => void>();
  private busyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: { balance: Balance; healthIntervalMs: number; maxInFlight: number; logger: ClientLogger; tls: ClientSettings['tls']; zmq: ZmqSettings },
    urls: readonly string[] = [],
  ) {
    this.setUrls(urls);
  }

  get size(): number {
    return this.instances.length;
  }

  urls(): string[] {
    return this.instances.map((instance) => instance.url);
  }

  /**
   * Replaces the list (discovery found others); instances kept keep their state. `zmqMaxMessageBytes`:
   * what tcp:// instances found advertise, over the client's zmq.maxMessageBytes.
   */
  setUrls(urls: readonly string[], zmqMaxMessageBytes?: ReadonlyMap<string, number>): void {
    const kept = new Map(this.instances.map((instance) => [instance.url, instance]));
    const zmqOf = (url: string): ZmqSettings => {
      const max = zmqMaxMessageBytes?.get(url);
      return max === undefined ? this.options.zmq : { ...this.options.zmq, maxMessageBytes: max };
    };
    this.instances = [...new Set(urls)].map((url) => kept.get(url) ?? new Instance(url, new URL(url), this.options.maxInFlight, this.options.tls, zmqOf(url)));
    for (const [url, instance] of kept) if (!urls.includes(url)) this.retire(instance);
    if (this.instances.length > 0) this.notify();
  }

  /** Calls `listener` whenever an instance may have become available (probe answered, busy time over, new list). */
  onAvailable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An available instance not in `exclude`, by the balance policy; undefined when none. */
  pick(exclude?: ReadonlySet<Instance>): Instance | undefined {
    const now = Date.now();
    const count = this.instances.length;
    let chosen: Instance | undefined;
    for (let i = 0; i < count; i++) {
      const instance = this.instances[(this.next + i) % count]!;
      if (!instance.available(now) || exclude?.has(instance)) continue;
      if (this.options.balance === 'round-robin') {
        chosen = instance;
        break;
      }
      if (chosen === undefined || instance.inFlight < chosen.inFlight) chosen = instance;
    }
    if (chosen !== undefined) this.next = (this.instances.indexOf(chosen) + 1) % count;
    return chosen;
  }

  /** Milliseconds until the first busy instance is free again (undefined if none is busy and up). */
  private soonestFree(now: number): number | undefined {
    let soonest: number | undefined;
    for (const instance of this.instances) {
      if (instance.state !== 'up' || instance.busyUntil <= now) continue;
      soonest = Math.min(soonest ?? Infinity, instance.busyUntil - now);
    }
    return soonest;
  }

  succeeded(instance: Instance, events: number): void {
    instance.acked += events;
    instance.failures = 0;
  }

  /** A request failed: what it says of the instance (see Outcome in transport.ts). */
  failed(instance: Instance, how: 'down' | 'busy' | 'fine', afterMs: number, why: string): void {
    instance.failures++;
    instance.lastError = why;
    if (how === 'busy') {
      instance.busyUntil = Math.max(instance.busyUntil, Date.now() + afterMs);
      this.wakeWhenFree();
    } else if (how === 'down' && instance.state === 'up' && this.instances.includes(instance)) {
      instance.state = 'down';
      this.options.logger.warn('client.instance_down', { url: instance.url, error: why });
      this.probe(instance);
    }
  }

  private wakeWhenFree(): void {
    const wait = this.soonestFree(Date.now());
    if (wait === undefined || this.closed) return;
    clearTimeout(this.busyTimer);
    this.busyTimer = setTimeout(() => {
      this.busyTimer = undefined;
      this.notify();
      this.wakeWhenFree();
    }, wait + 1);
    this.busyTimer.unref();
  }

  /** Probes a down instance every healthIntervalMs until /health answers 200. */
  private probe(instance: Instance): void {
    const check = () => {
      instance.probeTimer = undefined;
      if (this.closed || instance.state === 'up' || !this.instances.includes(instance)) return;
      health(instance, Math.max(this.options.healthIntervalMs, 1000)).then((ok) => {
        if (this.closed || !this.instances.includes(instance)) return;
        if (!ok) {
          instance.probeTimer = setTimeout(check, this.options.healthIntervalMs);
          instance.probeTimer.unref();
          return;
        }
        instance.state = 'up';
        instance.busyUntil = 0;
        this.options.logger.warn('client.instance_up', { url: instance.url });
        this.notify();
      });
    };
    instance.probeTimer = setTimeout(check, this.options.healthIntervalMs);
    instance.probeTimer.unref();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private retire(instance: Instance): void {
    clearTimeout(instance.probeTimer);
    instance.agent?.destroy();
    instance.http1?.destroy();
    instance.zmq?.close();
  }

  /** Gives up every request in flight (the client is closing): each answers "given up", the instance fine. */
  giveUp(): void {
    for (const instance of this.instances) instance.http1?.destroy();
  }

  stats(): InstanceStats[] {
    const now = Date.now();
    return this.instances.map((instance) => ({
      url: instance.url,
      state: instance.state,
      busyForMs: Math.max(0, instance.busyUntil - now),
      inFlight: instance.inFlight,
      acked: instance.acked,
      failures: instance.failures,
      lastError: instance.lastError,
    }));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.busyTimer);
    for (const instance of this.instances) this.retire(instance);
  }
}

/** Whether the instance's /health answers 200 within `timeoutMs` (a fresh connection: the agent's may be dead); a tcp:// one's ROUTER, a handshake. */
function health(instance: Instance, timeoutMs: number): Promise<boolean> {
  if (instance.zmq !== undefined) return instance.zmq.probe(timeoutMs);
  const url = new URL(instance.base);
  url.pathname = `${instance.base.pathname.replace(/\/+$/, '')}/health`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const request = send(url, { method: 'GET', agent: false, timeout: timeoutMs, ...(url.protocol === 'https:' ? instance.tls : {}) }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(false));
    request.end();
  });
}
