// `sparkngin agent`: watches a fleet (fleet.ts holds what is known and the rules). Three inputs:
//   - polling: every agent.pollIntervalMs, GET /health and /stats of each instance (listed in
//     agent.instances, or advertised on the LAN with agent.discover), at most 16 at once;
//   - discovery: joins and leaves from the mDNS browser (src/discovery/browse.ts);
//   - Kafka, when sinks.kafka.brokers is set: heartbeat.topic (mapped as the Kafka sink maps
//     topics), read from its newest records at start and then followed.
// Every second the rules run; each finding raised or cleared is logged (agent.finding_raised,
// agent.finding_cleared) and, with agent.eventsUrl, sent as an event to that Sparkngin instance.
// The fleet view is served on agent.listen as JSON at GET /fleet (`sparkngin check agent` reads it)
// and as a page at GET / and /status (fleet-page.ts).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config/defaults';
import { watchInstances } from '../discovery/browse';
import type { InstanceBrowser } from '../discovery/browser';
import { Limiter } from '../discovery/reachability';
import { followHeartbeats, latestHeartbeats } from '../ops/heartbeat-reader';
import type { Logger } from '../ops/log';
import { getOps, type OpsClientOptions } from '../ops/ops-client';
import { kafkaTopic } from '../sinks/kafka/record';
import { kafkaSecurity } from '../sinks/kafka/security';
import { FindingsSender } from './events';
import { FLEET_PAGE } from './fleet-page';
import { Fleet, type FindingChange } from './fleet';

/** Polls in flight at once, whatever the size of the fleet. */
const POLL_CONCURRENCY = 16;

export class Agent {
  private readonly fleet: Fleet;
  private readonly timers: NodeJS.Timeout[] = [];
  private browser: InstanceBrowser | undefined;
  private heartbeats: { stop(): Promise<void> } | undefined;
  private server: Server | undefined;
  private readonly sender: FindingsSender | undefined;
  private readonly client: Omit<OpsClientOptions, 'timeoutMs'>;
  private readonly polls = new Limiter(POLL_CONCURRENCY);
  private polling = false;
  private stopped = false;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    const { agent } = config;
    this.fleet = new Fleet({ lateAfterMs: agent.lateAfterSeconds * 1000, lagGrowthPolls: agent.lagGrowthPolls, heartbeats: config.sinks.kafka.brokers.length > 0, startedMs: Date.now() });
    this.client = { ...(agent.opsToken !== '' ? { token: agent.opsToken } : {}), ...(agent.ca !== '' ? { ca: readFileSync(agent.ca) } : {}) };
    if (agent.eventsUrl !== '') this.sender = new FindingsSender(agent.eventsUrl, agent.eventsTopic, agent.eventsToken, logger);
    for (const url of agent.instances) this.fleet.watch(url, 'config');
  }

  async start(): Promise<AddressInfo> {
    const { agent } = this.config;
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/' || path === '/status') {
        response.writeHead(200, { ...FLEET_PAGE.headers, 'content-length': Buffer.byteLength(FLEET_PAGE.html) });
        response.end(FLEET_PAGE.html);
        return;
      }
      const body = path === '/fleet' ? this.fleet.view(Date.now()) : path === '/health' ? { status: 'ok' } : undefined;
      response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body ?? { error: { code: 'NOT_FOUND', message: 'GET /, /fleet or /health' } }));
    });
    this.server.maxConnections = 64;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
    const colon = agent.listen.lastIndexOf(':');
    const host = agent.listen.slice(0, colon).replace(/^\[|\]$/g, '');
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: Number(agent.listen.slice(colon + 1)) }, () => resolve());
    });
    if (agent.discover) this.discover();
    if (this.config.sinks.kafka.brokers.length > 0) void this.followKafka();
    this.timers.push(setInterval(() => void this.pollAll(), agent.pollIntervalMs));
    this.timers.push(setInterval(() => this.evaluate(), 1000));
    void this.pollAll();
    const address = server.address() as AddressInfo;
    this.logger.info('agent.started', { listen: `${address.address}:${address.port}`, instances: agent.instances.length, discover: agent.discover, kafka: this.config.sinks.kafka.brokers.length > 0 });
    return address;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.browser?.close();
    await this.heartbeats?.stop().catch(() => undefined);
    await this.sender?.flush();
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private discover(): void {
    const { discoverInterfaces } = this.config.agent;
    this.browser = watchInstances(discoverInterfaces.length > 0 ? { interfaces: discoverInterfaces } : {});
    const joined = (instance: { urls: string[]; name: string; instanceId?: string }) => {
      const url = instance.urls[0];
      if (url !== undefined) this.fleet.watch(url, 'mdns', { name: instance.name, ...(instance.instanceId ? { instanceId: instance.instanceId } : {}) });
    };
    this.browser.on('join', joined);
    this.browser.on('update', joined);
    this.browser.on('leave', (instance) => {
      const url = instance.urls[0];
      if (url !== undefined) this.fleet.forget(url, 'mdns');
    });
    this.browser.on('problem', (error) => this.logger.warn('agent.discovery_problem', { error }));
  }

  private async followKafka(): Promise<void> {
    const kafkaConfig = this.config.sinks.kafka;
    const topic = kafkaTopic(kafkaConfig, this.config.heartbeat.topic);
    const kafka = new Kafka({
      clientId: 'sparkngin-agent',
      brokers: kafkaConfig.brokers,
      connectionTimeout: kafkaConfig.connectionTimeoutMs,
      ...kafkaSecurity(kafkaConfig),
      logLevel: logLevel.NOTHING,
    });
    // What was there before the agent started, so that a fleet that is fine is not flagged while
    // the first heartbeats come; then everything new. Kafka may be away, or the topic not made yet
    // (it is when the first heartbeat is delivered): the agent watches by polling meanwhile and
    // tries again every 5 s.
    while (!this.stopped) {
      try {
        const recent = await latestHeartbeats(kafka, topic, { window: 1000, signal: AbortSignal.timeout(15_000) });
        for (const heartbeat of recent.values()) this.fleet.heartbeat(heartbeat, Date.now());
        const following = await followHeartbeats(kafka, topic, (heartbeat) => this.fleet.heartbeat(heartbeat, Date.now()));
        if (this.stopped) await following.stop();
        else this.heartbeats = following;
        return;
      } catch (error) {
        this.logger.warn('agent.heartbeats_unread', { topic, error });
        await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
      }
    }
  }

  private async pollAll(): Promise<void> {
    // A round slower than the interval is not stacked on by the next one.
    if (this.polling) return;
    this.polling = true;
    const timeoutMs = Math.min(this.config.agent.pollIntervalMs, 5_000);
    try {
      await Promise.all(this.fleet.targets().map((url) => this.polls.run(() => this.poll(url, timeoutMs))));
    } finally {
      this.polling = false;
    }
  }

  private async poll(url: string, timeoutMs: number): Promise<void> {
    try {
      const health = await getOps(url, 'health', { ...this.client, timeoutMs });
      if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`);
      const stats = await getOps(url, 'stats', { ...this.client, timeoutMs });
      if (stats.status === 401 || stats.status === 403) throw new Error(`GET /stats answered ${stats.status} (agent.opsToken)`);
      if (stats.status !== 200) throw new Error(`GET /stats answered ${stats.status}`);
      this.fleet.polled(url, stats.json, Date.now());
    } catch (error) {
      this.fleet.pollFailed(url, (error as Error).message);
    }
  }

  private evaluate(): void {
    const changes = this.fleet.evaluate(Date.now());
    for (const change of changes) this.report(change);
    // Also with no change: what an earlier round could not send is tried again.
    this.sender?.send(changes);
  }

  private report({ change, instance, finding }: FindingChange): void {
    const fields = { instance: instance.name, instanceId: instance.id, url: instance.url, kind: finding.kind, severity: finding.severity, message: finding.message, ...(finding.sink ? { sink: finding.sink } : {}) };
    if (change === 'raised') this.logger.warn('agent.finding_raised', fields);
    else this.logger.info('agent.finding_cleared', fields);
  }
}
