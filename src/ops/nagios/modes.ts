// What each `sparkngin check` mode concludes from what it read: pure functions from the daemon's
// answers (GET /health, /ready, /stats), a heartbeat, or the agent's fleet view to a CheckResult
// (plugin.ts). The reading itself (HTTP, Kafka) is src/cli/check.ts's; keeping it apart makes every
// state of every mode testable without a daemon. What is read comes over the network, perhaps from
// another version: it is checked, and a shape the check does not understand is UNKNOWN.
import { formatBytes } from '../../cli/progress';
import type { CheckResult, NagiosState, PerfDatum, Thresholds } from './plugin';
import { judge, worse } from './plugin';

export type CheckMode = 'health' | 'spool' | 'lag' | 'sinks' | 'heartbeat' | 'agent';

/** The parts of /stats the checks read. */
export interface StatsView {
  spool: { bytes: number; maxBytes: number | undefined; full: boolean };
  sinks: Array<{ sink: string; health: string; detail: string | undefined; lagRecords: number; lastError: string | undefined }>;
}

/** An answer the check cannot read: UNKNOWN with this message. */
export class UnreadableAnswer extends Error {}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown, what: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new UnreadableAnswer(`/stats has no number at ${what}`);
  return value;
};
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function readStats(json: unknown): StatsView {
  if (!isObject(json) || !isObject(json.spool) || !Array.isArray(json.sinks)) throw new UnreadableAnswer('/stats is not the JSON of a Sparkngin daemon');
  const spool = json.spool;
  return {
    spool: { bytes: num(spool.bytes, 'spool.bytes'), maxBytes: typeof spool.maxBytes === 'number' ? spool.maxBytes : undefined, full: spool.full === true },
    sinks: json.sinks.map((sink: unknown, index) => {
      if (!isObject(sink) || typeof sink.sink !== 'string') throw new UnreadableAnswer(`/stats: sinks[${index}] has no name`);
      const health = isObject(sink.health) ? sink.health : {};
      return { sink: sink.sink, health: text(health.state) ?? 'unknown', detail: text(health.detail), lagRecords: num(sink.lagRecords, `sinks[${index}].lagRecords`), lastError: text(sink.lastError) };
    }),
  };
}

/** GET /health (liveness) and GET /ready (undefined when it could not be asked). */
export function healthResult(health: { status: number; elapsedMs: number }, ready: { status: number; json: unknown } | undefined): CheckResult {
  const perfdata: PerfDatum[] = [{ label: 'time', value: health.elapsedMs / 1000, uom: 's', min: 0 }];
  if (health.status !== 200) return { state: 'CRITICAL', summary: `GET /health answered ${health.status}`, perfdata };
  if (ready === undefined) return { state: 'OK', summary: 'alive', perfdata };
  if (ready.status === 401 || ready.status === 403) return { state: 'UNKNOWN', summary: `GET /ready answered ${ready.status}: give the ops token (--token-file)`, perfdata };
  if (ready.status === 503) {
    const reasons = isObject(ready.json) && Array.isArray(ready.json.reasons) ? ready.json.reasons.map(String) : [];
    return { state: 'WARNING', summary: `alive, not ready: ${reasons.join('; ') || 'no reason given'}`, perfdata };
  }
  if (ready.status !== 200) return { state: 'UNKNOWN', summary: `GET /ready answered ${ready.status}`, perfdata };
  return { state: 'OK', summary: 'alive and ready', perfdata };
}

/** Spool use in percent of spool.maxBytes; a full spool (appends refused) is CRITICAL whatever the thresholds. */
export function spoolResult(stats: StatsView, thresholds: Thresholds): CheckResult {
  const { bytes, maxBytes, full } = stats.spool;
  if (maxBytes === undefined || maxBytes <= 0) return { state: 'UNKNOWN', summary: 'the daemon does not report its spool limit (spool.maxBytes)' };
  const percent = (bytes / maxBytes) * 100;
  const perfdata: PerfDatum[] = [
    { label: 'spool_used', value: percent, uom: '%', thresholds, min: 0, max: 100 },
    { label: 'spool_bytes', value: bytes, uom: 'B', min: 0, max: maxBytes },
  ];
  const shown = `${percent.toFixed(1)}% of ${formatBytes(maxBytes)} used (${formatBytes(bytes)})`;
  if (full) return { state: 'CRITICAL', summary: `spool full, appends refused: ${shown}`, perfdata };
  return { state: judge(percent, thresholds), summary: shown, perfdata };
}

function selected(stats: StatsView, sink: string | undefined): StatsView['sinks'] {
  if (sink === undefined) return stats.sinks;
  const found = stats.sinks.filter((candidate) => candidate.sink === sink);
  if (found.length === 0) throw new UnreadableAnswer(`no sink named '${sink}' (the daemon has: ${stats.sinks.map((s) => s.sink).join(', ') || 'none'})`);
  return found;
}

/** Records each sink is behind the spool; the worst sink decides. */
export function lagResult(stats: StatsView, thresholds: Thresholds, sink?: string): CheckResult {
  const sinks = selected(stats, sink);
  if (sinks.length === 0) return { state: 'UNKNOWN', summary: 'the daemon has no sink' };
  let state: NagiosState = 'OK';
  const parts: string[] = [];
  for (const each of sinks) {
    const judged = judge(each.lagRecords, thresholds);
    state = worse(state, judged);
    parts.push(`${each.sink} ${each.lagRecords} behind${judged === 'OK' ? '' : ` (${judged})`}`);
  }
  return {
    state,
    summary: `lag in records: ${parts.join(', ')}`,
    perfdata: sinks.map((each) => ({ label: `lag_${each.sink}`, value: each.lagRecords, thresholds, min: 0 })),
  };
}

/**
 * Each sink's state: down is CRITICAL with its reason; up is OK, and so is starting, which only
 * means that the sink has had nothing to send yet (an idle Kafka sink stays so for hours).
 */
export function sinksResult(stats: StatsView, sink?: string): CheckResult {
  const sinks = selected(stats, sink);
  if (sinks.length === 0) return { state: 'UNKNOWN', summary: 'the daemon has no sink' };
  let state: NagiosState = 'OK';
  const parts: string[] = [];
  for (const each of sinks) {
    const judged: NagiosState = each.health === 'down' ? 'CRITICAL' : each.health === 'up' || each.health === 'starting' ? 'OK' : 'UNKNOWN';
    state = worse(state, judged);
    const why = each.detail ?? each.lastError;
    parts.push(`${each.sink} ${each.health}${judged !== 'OK' && why ? ` (${why})` : ''}`);
  }
  return { state, summary: parts.join(', '), perfdata: sinks.map((each) => ({ label: `up_${each.sink}`, value: each.health === 'up' ? 1 : 0, min: 0, max: 1 })) };
}

/** A heartbeat as the check reads it from Kafka (heartbeat-reader.ts). */
export interface HeartbeatSeen {
  instance: string;
  /** When the instance made it, ms since the epoch. */
  sentMs: number;
  /** It was the last beat of a graceful stop. */
  stopping?: boolean;
}

/** Age of the newest heartbeat of the instance: how long since events last went end to end. */
export function heartbeatResult(seen: HeartbeatSeen | undefined, nowMs: number, thresholds: Thresholds, instance: string, topic: string): CheckResult {
  if (seen === undefined) return { state: 'CRITICAL', summary: `no heartbeat of ${instance} in the Kafka topic ${topic}` };
  const age = Math.max(0, (nowMs - seen.sentMs) / 1000);
  return {
    state: judge(age, thresholds),
    summary: `last heartbeat of ${seen.instance} is ${age.toFixed(1)} s old (made ${new Date(seen.sentMs).toISOString()}${seen.stopping ? ', the last of a graceful stop' : ''})`,
    perfdata: [{ label: 'heartbeat_age', value: age, uom: 's', thresholds, min: 0 }],
  };
}

/** The agent's fleet view (GET /fleet): the worst finding decides; each instance's findings are detail lines. */
export function agentResult(json: unknown, instance?: string): CheckResult {
  if (!isObject(json) || !Array.isArray(json.instances)) throw new UnreadableAnswer('the answer is not the fleet view of a Sparkngin agent');
  const instances = json.instances.filter(isObject).filter((each) => instance === undefined || each.id === instance || each.name === instance);
  if (instance !== undefined && instances.length === 0) throw new UnreadableAnswer(`the agent does not watch '${instance}'`);
  let state: NagiosState = 'OK';
  const details: string[] = [];
  let flagged = 0;
  for (const each of instances) {
    const findings = Array.isArray(each.findings) ? each.findings.filter(isObject) : [];
    for (const finding of findings) {
      const severity = finding.severity === 'critical' ? 'CRITICAL' : 'WARNING';
      state = worse(state, severity);
      details.push(`${String(each.name)}: ${String(finding.message)}`);
    }
    if (findings.length > 0) flagged++;
  }
  const summary = flagged === 0 ? `${instances.length} instance(s) watched, none flagged` : `${flagged} of ${instances.length} instance(s) flagged: ${details.join('; ')}`;
  return { state, summary, details, perfdata: [{ label: 'instances', value: instances.length, min: 0 }, { label: 'flagged', value: flagged, min: 0 }] };
}
