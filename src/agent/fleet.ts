// What the agent knows of each instance it watches, and the rules that flag one. Pure: the agent
// (agent.ts) feeds it what polling, discovery and Kafka bring, with the time; `evaluate` says which
// findings were raised or cleared since last time; `view` is the fleet view served as JSON.
//
// The rules (each a finding, cleared as soon as its condition stops holding):
//   unreachable     critical  no answer from /health and /stats for more than lateAfter
//   heartbeat-late  critical  no heartbeat in Kafka for more than lateAfter (with Kafka only; for an
//                             instance whose id is known: from its advertisement, /stats or a heartbeat)
//   sink-down       critical  a sink reports itself down (with its reason)
//   lag-growing     warning   a sink's lag grew at each of the last lagGrowthPolls polls
//
// An instance is known by its instance id when it has one (the data dir's, DATADIR/instance-id),
// else by the URL it is polled at; a heartbeat of an id no polled instance has is an instance of its
// own, watched through Kafka alone. At most `maxInstances` are held: whoever can send heartbeats or
// advertisements must not be able to grow the agent without bound.
import type { HeartbeatRecord } from '../ops/heartbeat-reader';

export type Severity = 'warning' | 'critical';
export type FindingKind = 'unreachable' | 'heartbeat-late' | 'sink-down' | 'lag-growing';
export type Source = 'config' | 'mdns' | 'kafka';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  message: string;
  sink?: string;
  /** When it was raised, ISO 8601. */
  since: string;
}

export interface FindingChange {
  change: 'raised' | 'cleared';
  instance: { id: string | undefined; name: string; url: string | undefined };
  finding: Finding;
}

interface SinkSeen {
  health: string;
  detail: string | undefined;
  lagRecords: number;
  /** Polls in a row at which the lag had grown. */
  growth: number;
}

interface Member {
  name: string;
  url: string | undefined;
  instanceId: string | undefined;
  host: string | undefined;
  sources: Set<Source>;
  firstSeenMs: number;
  lastAnswerMs: number | undefined;
  lastError: string | undefined;
  lastHeartbeatMs: number | undefined;
  /** The last heartbeat said it was the last (a graceful stop). */
  stopped: boolean;
  sinks: Map<string, SinkSeen>;
  findings: Map<string, Finding>;
}

export interface FleetOptions {
  lateAfterMs: number;
  lagGrowthPolls: number;
  /** Heartbeats are read from Kafka: a missing one means something. */
  heartbeats: boolean;
  maxInstances?: number;
  /** When the agent started, ms: a heartbeat is awaited from then on. */
  startedMs: number;
}

export interface InstanceView {
  id: string | undefined;
  name: string;
  url: string | undefined;
  host: string | undefined;
  sources: Source[];
  state: 'ok' | Severity;
  lastAnswerAgeSeconds: number | undefined;
  lastError: string | undefined;
  heartbeatAgeSeconds: number | undefined;
  sinks: Array<{ sink: string; health: string; detail?: string; lagRecords: number }>;
  findings: Finding[];
}

export interface FleetView {
  generatedAt: string;
  lateAfterSeconds: number;
  heartbeats: boolean;
  instances: InstanceView[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class Fleet {
  private readonly members: Member[] = [];
  private readonly max: number;

  constructor(private readonly options: FleetOptions) {
    this.max = options.maxInstances ?? 1024;
  }

  /** The URLs to poll now. */
  targets(): string[] {
    return this.members.flatMap((member) => (member.url === undefined ? [] : [member.url]));
  }

  /** An instance to poll at `url` (listed in the config, or advertised). */
  watch(url: string, source: Source, facts: { name?: string; instanceId?: string } = {}, now = Date.now()): void {
    let member = this.members.find((candidate) => candidate.url === url) ?? (facts.instanceId ? this.byId(facts.instanceId) : undefined);
    if (member === undefined) {
      member = this.add({ name: facts.name ?? url, url }, now);
      if (member === undefined) return;
    }
    member.url ??= url;
    if (facts.name !== undefined && (member.name === member.url || member.sources.has('kafka'))) member.name = facts.name;
    if (facts.instanceId !== undefined) this.identify(member, facts.instanceId);
    member.sources.add(source);
  }

  /** An advertised instance left the LAN: unless listed in the config too, it is watched no more. */
  forget(url: string, source: Source): void {
    const member = this.members.find((candidate) => candidate.url === url);
    if (member === undefined) return;
    member.sources.delete(source);
    if (member.sources.size === 0) this.members.splice(this.members.indexOf(member), 1);
  }

  polled(url: string, stats: unknown, now: number): void {
    const member = this.members.find((candidate) => candidate.url === url);
    if (member === undefined) return;
    member.lastAnswerMs = now;
    member.lastError = undefined;
    if (!isObject(stats)) return;
    const instance = isObject(stats.instance) ? stats.instance : {};
    if (typeof instance.id === 'string') this.identify(member, instance.id);
    if (typeof instance.host === 'string') member.host = instance.host;
    if (Array.isArray(stats.sinks)) this.sinksSeen(member, stats.sinks);
  }

  pollFailed(url: string, error: string): void {
    const member = this.members.find((candidate) => candidate.url === url);
    if (member !== undefined) member.lastError = error;
  }

  heartbeat(heartbeat: HeartbeatRecord, now: number): void {
    let member = this.byId(heartbeat.instance);
    if (member === undefined) {
      member = this.add({ name: heartbeat.host ?? heartbeat.instance, url: undefined }, now);
      if (member === undefined) return;
      member.instanceId = heartbeat.instance;
    }
    member.sources.add('kafka');
    if (heartbeat.host !== undefined) member.host = heartbeat.host;
    if (heartbeat.sentMs >= (member.lastHeartbeatMs ?? 0)) {
      member.lastHeartbeatMs = heartbeat.sentMs;
      member.stopped = heartbeat.stopping;
    }
    // An instance watched through Kafka alone learns its sinks from its heartbeats.
    if (member.url === undefined && Array.isArray(heartbeat.payload.sinks)) this.sinksSeen(member, heartbeat.payload.sinks);
  }

  /** Applies the rules at `now`: the findings raised and cleared since the last call. */
  evaluate(now: number): FindingChange[] {
    const changes: FindingChange[] = [];
    const late = this.options.lateAfterMs;
    for (const member of this.members) {
      const wanted = new Map<string, Omit<Finding, 'since'>>();
      if (member.url !== undefined && member.lastError !== undefined) {
        const silentMs = now - (member.lastAnswerMs ?? member.firstSeenMs);
        if (silentMs > late) wanted.set('unreachable', { kind: 'unreachable', severity: 'critical', message: `no answer for ${seconds(silentMs)} s: ${member.lastError}` });
      }
      if (this.options.heartbeats && member.instanceId !== undefined) {
        const since = member.lastHeartbeatMs ?? Math.max(this.options.startedMs, member.firstSeenMs);
        if (now - since > late) {
          const message =
            member.lastHeartbeatMs === undefined
              ? `no heartbeat in ${seconds(now - since)} s of watching`
              : `last heartbeat ${seconds(now - since)} s ago${member.stopped ? ' (it said it was stopping)' : ''}`;
          wanted.set('heartbeat-late', { kind: 'heartbeat-late', severity: 'critical', message });
        }
      }
      for (const [sink, seen] of member.sinks) {
        if (seen.health === 'down') wanted.set(`sink-down:${sink}`, { kind: 'sink-down', severity: 'critical', sink, message: `sink ${sink} down${seen.detail ? `: ${seen.detail}` : ''}` });
        if (seen.growth >= this.options.lagGrowthPolls) {
          wanted.set(`lag-growing:${sink}`, { kind: 'lag-growing', severity: 'warning', sink, message: `sink ${sink} lag growing for ${seen.growth} polls (${seen.lagRecords} records)` });
        }
      }
      const instance = { id: member.instanceId, name: member.name, url: member.url };
      for (const [key, finding] of member.findings) {
        if (!wanted.has(key)) {
          member.findings.delete(key);
          changes.push({ change: 'cleared', instance, finding });
        }
      }
      for (const [key, finding] of wanted) {
        const known = member.findings.get(key);
        if (known === undefined) {
          const raised = { ...finding, since: new Date(now).toISOString() };
          member.findings.set(key, raised);
          changes.push({ change: 'raised', instance, finding: raised });
        } else {
          known.message = finding.message;
        }
      }
    }
    return changes;
  }

  view(now: number): FleetView {
    return {
      generatedAt: new Date(now).toISOString(),
      lateAfterSeconds: this.options.lateAfterMs / 1000,
      heartbeats: this.options.heartbeats,
      instances: this.members.map((member) => {
        const findings = [...member.findings.values()];
        return {
          id: member.instanceId,
          name: member.name,
          url: member.url,
          host: member.host,
          sources: [...member.sources],
          state: findings.some((finding) => finding.severity === 'critical') ? 'critical' : findings.length > 0 ? 'warning' : 'ok',
          lastAnswerAgeSeconds: member.lastAnswerMs === undefined ? undefined : seconds(now - member.lastAnswerMs),
          lastError: member.lastError,
          heartbeatAgeSeconds: member.lastHeartbeatMs === undefined ? undefined : seconds(now - member.lastHeartbeatMs),
          sinks: [...member.sinks].map(([sink, seen]) => ({ sink, health: seen.health, ...(seen.detail ? { detail: seen.detail } : {}), lagRecords: seen.lagRecords })),
          findings,
        };
      }),
    };
  }

  private byId(id: string): Member | undefined {
    return this.members.find((member) => member.instanceId === id);
  }

  private add(facts: { name: string; url: string | undefined }, now: number): Member | undefined {
    if (this.members.length >= this.max) return undefined;
    const member: Member = {
      ...facts,
      instanceId: undefined,
      host: undefined,
      sources: new Set(),
      firstSeenMs: now,
      lastAnswerMs: undefined,
      lastError: undefined,
      lastHeartbeatMs: undefined,
      stopped: false,
      sinks: new Map(),
      findings: new Map(),
    };
    this.members.push(member);
    return member;
  }

  /** Learns a member's id; a member made of its heartbeats alone (same id) is merged into it. */
  private identify(member: Member, id: string): void {
    const other = this.byId(id);
    if (other !== undefined && other !== member) {
      member.lastHeartbeatMs = Math.max(member.lastHeartbeatMs ?? 0, other.lastHeartbeatMs ?? 0) || undefined;
      for (const source of other.sources) member.sources.add(source);
      member.host ??= other.host;
      this.members.splice(this.members.indexOf(other), 1);
    }
    member.instanceId = id;
  }

  private sinksSeen(member: Member, sinks: unknown[]): void {
    const seen = new Set<string>();
    for (const sink of sinks) {
      if (!isObject(sink) || typeof sink.sink !== 'string' || seen.size >= 64) continue;
      // /stats has the sink's health; a heartbeat has `up` and the last error.
      const health = isObject(sink.health) ? sink.health : { state: sink.up === false ? 'down' : sink.up === true ? 'up' : undefined, detail: sink.lastError };
      const lag = typeof sink.lagRecords === 'number' ? sink.lagRecords : 0;
      const before = member.sinks.get(sink.sink);
      member.sinks.set(sink.sink, {
        health: typeof health.state === 'string' ? health.state : 'unknown',
        detail: typeof health.detail === 'string' ? health.detail : undefined,
        lagRecords: lag,
        growth: before !== undefined && lag > before.lagRecords ? before.growth + 1 : 0,
      });
      seen.add(sink.sink);
    }
    for (const name of member.sinks.keys()) if (!seen.has(name)) member.sinks.delete(name);
  }
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
