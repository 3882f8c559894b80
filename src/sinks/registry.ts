// The sink instances the configuration enables, and how each is made. The two are apart because they
// are used on different threads: the ingest thread needs only the names and settings (routes for
// ack=sink, stats), the sink's delivery thread makes the sink. Kinds are listed in kinds.ts.
import type { Config } from '../config/defaults';
import { sinkTopics } from '../config/sinks';
import type { Logger } from '../ops/log';
import { sinkKind } from './kinds';
import type { SinkRoute } from './dispatcher';
import { eventFilter, renamer, topicFilter } from './route';
import type { DeliveryConfig, Sink } from './sink';

export interface EnabledSink {
  name: string;
  kind: string;
  delivery: DeliveryConfig;
}

/** The enabled sink instances, by name, each with the topics its routes (or its own `topics`) give it. */
export function enabledSinks(config: Config): EnabledSink[] {
  return Object.entries(config.sinks)
    .filter(([, instance]) => instance.enabled)
    .map(([name, instance]) => ({ name, kind: instance.kind, delivery: { ...instance, topics: sinkTopics(config, name) } }));
}

/** What the sink's dispatcher takes of the spool (route.ts). */
export function sinkRoute(delivery: DeliveryConfig): SinkRoute {
  const route: SinkRoute = { topics: topicFilter(delivery.topics) };
  const filter = delivery.filter && eventFilter(delivery.filter);
  const rename = delivery.rename === undefined ? undefined : renamer(delivery.rename);
  if (filter !== undefined) route.filter = filter;
  if (rename !== undefined) route.rename = rename;
  return route;
}

export async function createSink(name: string, config: Config, logger: Logger): Promise<Sink> {
  const instance = Object.hasOwn(config.sinks, name) ? config.sinks[name] : undefined;
  if (instance === undefined) throw new Error(`no sink named ${name}`);
  return sinkKind(instance.kind)!.create(name, instance, logger);
}
