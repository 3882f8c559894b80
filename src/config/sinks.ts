// The sink instances and routes of a configuration, as the loader builds and checks them. An instance
// is named after its kind (`sinks.kafka`: the one every configuration has) or given a name and a
// `kind` (`sinks.analytics: {kind: kafka, …}`: as many as wanted); its settings are its kind's
// (src/sinks/<kind>/config.ts). Routes (`routes: [{topics, sinks}]`) send topics to sinks.
import { isLegalTopic } from '../envelope/rules';
import { patternProblem, patternsOverlap } from '../sinks/route';
import { sinkKind, SINK_KINDS } from '../sinks/kinds';
import type { CommonSinkConfig } from '../sinks/kind';
import type { Config } from './defaults';
import { nearest } from './nearest';

/** A name of an instance: it names the cursor and dead-letter files, metrics labels and log lines. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** A longer wait would hold `ack=sink` answers and the events' way out for seconds: not a batching wait any more. */
const MAX_LINGER_MS = 10_000;

type Plain = Record<string, unknown>;

const kindNames = () => SINK_KINDS.map((kind) => kind.kind);

/** Why `sinks.<name>` cannot be had, as the problem's key and text; or the instance (made if new). */
export type SinkInstanceResult = { instance: Plain } | { key: string; problem: string };

/**
 * The instance `name` in `sinks`, made if new: an existing one (named after its kind) takes no other
 * kind; a new one needs a known kind and a name fit for file names. `unknown` says what an unknown
 * setting is called in the message (the source, with a guess).
 */
export function sinkInstance(sinks: Plain, name: string, kind: string | undefined, unknown: (hint: string) => string): SinkInstanceResult {
  if (Object.hasOwn(sinks, name)) {
    const existing = (sinks[name] as CommonSinkConfig).kind;
    if (kind === undefined || kind === existing) return { instance: sinks[name] as Plain };
    return { key: `sinks.${name}.kind`, problem: `the sink named '${name}' is of kind '${existing}' (give another name to a sink of kind '${kind}')` };
  }
  if (kind === undefined) return { key: `sinks.${name}`, problem: unknown(`a new sink needs a kind: one of ${kindNames().join(', ')}`) };
  if (!INSTANCE_NAME.test(name)) return { key: `sinks.${name}`, problem: unknown('a sink name is 1 to 63 of A-Z a-z 0-9 _ -, not starting with _ or -') };
  const found = sinkKind(kind);
  if (found === undefined) {
    const guess = nearest(kind, kindNames(), '.');
    return { key: `sinks.${name}.kind`, problem: `unknown sink kind '${kind}' (one of ${kindNames().join(', ')}${guess === undefined ? '' : `; did you mean ${guess}?`})` };
  }
  // A sink someone named is meant to run: on unless it says `enabled: false`.
  const instance = { ...found.defaults(), enabled: true };
  sinks[name] = instance;
  return { instance: instance as unknown as Plain };
}

/** Each instance named after its kind is turned on by its kind's switch (Kafka's brokers, an endpoint) unless `enabled` was given. */
export function enableBySwitch(config: Config, given: ReadonlySet<string>): void {
  for (const [name, instance] of Object.entries(config.sinks)) {
    const kind = sinkKind(instance.kind);
    if (kind?.switch === undefined || given.has(`sinks.${name}.enabled`)) continue;
    const value = (instance as unknown as Plain)[kind.switch];
    if ((Array.isArray(value) && value.length > 0) || (typeof value === 'string' && value !== '')) instance.enabled = true;
  }
}

/** Every instance's own checks and the routes', each problem naming its key. */
export function checkSinks(config: Config, problems: string[], given: ReadonlySet<string>): void {
  const ingest = config.http.topics;
  // With no ingest topic at all, http.topics is the problem (said elsewhere), not every pattern.
  const reachable = (pattern: string) => ingest.length === 0 || ingest.some((taken) => patternsOverlap(pattern, taken));
  const routed = new Set(config.routes.flatMap((route) => route.sinks));
  for (const [name, instance] of Object.entries(config.sinks)) {
    const at = (key: string) => `sinks.${name}.${key}`;
    const complain = (key: string, problem: string) => problems.push(`${key.split(', ').map(at).join(', ')}: ${problem}`);
    const { batch, retry } = instance;
    if (batch.maxRecords < 1) complain('batch.maxRecords', 'expected at least 1');
    // A read takes records while under maxBytes: with 0 it would take none, and its sink would spin on nothing.
    if (batch.maxBytes < 1) complain('batch.maxBytes', 'expected at least 1');
    if (!Number.isInteger(batch.lingerMs) || batch.lingerMs < 0 || batch.lingerMs > MAX_LINGER_MS) complain('batch.lingerMs', `expected whole milliseconds from 0 to ${MAX_LINGER_MS}`);
    if (retry.maxMs < retry.initialMs) complain('retry.maxMs', 'expected at least retry.initialMs');
    if (retry.factor < 1) complain('retry.factor', 'expected at least 1');
    for (const pattern of instance.topics) {
      const problem = patternProblem(pattern);
      if (problem !== undefined) complain('topics', problem);
      else if (instance.enabled && !routed.has(name) && !reachable(pattern)) complain('topics', `'${pattern}' matches no topic http.topics takes, so the sink would get nothing`);
    }
    if (routed.has(name) && given.has(at('topics'))) complain('topics', 'set, but routes name this sink too: say which topics it takes in one place');
    if (instance.rename !== '' && !isLegalTopic(instance.rename.replaceAll('{topic}', 'a'))) {
      complain('rename', `expected a topic name in which {topic} stands for the event's (a-z A-Z 0-9 . _ -), got '${instance.rename}'`);
    }
    for (const pattern of instance.filter.keys) if (pattern === '') complain('filter.keys', 'expected key patterns, got an empty one');
    for (const header of Object.keys(instance.filter.headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(header)) complain('filter.headers', `expected lower-case header names, got '${header}'`);
    }
    sinkKind(instance.kind)!.check(instance, complain, at);
  }
  for (const [index, route] of config.routes.entries()) {
    const where = `routes: record ${index + 1}`;
    for (const name of route.sinks) {
      const instance = Object.hasOwn(config.sinks, name) ? config.sinks[name] : undefined;
      if (instance === undefined) {
        const guess = nearest(name, Object.keys(config.sinks), '.');
        problems.push(`${where}: sinks names '${name}', which is no sink (sinks: ${Object.keys(config.sinks).join(', ')}${guess === undefined ? '' : `; did you mean ${guess}?`})`);
      } else if (!instance.enabled) {
        problems.push(`${where}: sinks names '${name}', which is off (sinks.${name}.enabled, or its endpoint)`);
      }
    }
    for (const pattern of route.topics) {
      const problem = patternProblem(pattern);
      if (problem !== undefined) problems.push(`${where}: topics: ${problem}`);
      else if (!reachable(pattern)) problems.push(`${where}: topics: '${pattern}' matches no topic http.topics takes`);
    }
  }
}

/** Relative file names made absolute, as each kind says. */
export function resolveSinks(config: Config): void {
  for (const instance of Object.values(config.sinks)) sinkKind(instance.kind)!.resolve?.(instance, config.dataDir);
}

/** The topic patterns a sink takes: those of the routes that name it, or, when none does, its own. */
export function sinkTopics(config: Pick<Config, 'sinks' | 'routes'>, name: string): string[] {
  const routes = config.routes.filter((route) => route.sinks.includes(name));
  return routes.length === 0 ? config.sinks[name]!.topics : [...new Set(routes.flatMap((route) => route.topics))];
}
