// Sinks register here by name; the daemon starts every one its configuration enables. Adding a sink
// is one entry: its delivery settings (or nothing when disabled) and a factory for the sink itself.
// The two are apart because they are used on different threads: the ingest thread needs only the
// names and settings (routes for ack=sink, stats), the sink's delivery thread makes the sink.
import type { Config } from '../config/defaults';
import type { Logger } from '../ops/log';
import { FileSink } from './file/sink';
import { KafkaSink } from './kafka/sink';
import type { DeliveryConfig, Sink } from './sink';

export interface EnabledSink {
  name: string;
  delivery: DeliveryConfig;
}

interface SinkKind {
  /** The sink's delivery settings when the configuration enables it. */
  enabled(config: Config): DeliveryConfig | undefined;
  create(config: Config, logger: Logger): Sink;
}

const KINDS: Record<string, SinkKind> = {
  file: { enabled: (config) => (config.sinks.file.enabled ? config.sinks.file : undefined), create: (config, logger) => new FileSink(config.sinks.file, logger) },
  kafka: { enabled: (config) => (config.sinks.kafka.enabled ? config.sinks.kafka : undefined), create: (config, logger) => new KafkaSink(config.sinks.kafka, logger) },
};

/** The sinks the configuration enables, by name (each sink's `name` is its key here). */
export function enabledSinks(config: Config): EnabledSink[] {
  return Object.entries(KINDS).flatMap(([name, kind]) => {
    const delivery = kind.enabled(config);
    return delivery === undefined ? [] : [{ name, delivery }];
  });
}

export function createSink(name: string, config: Config, logger: Logger): Sink {
  if (!Object.hasOwn(KINDS, name)) throw new Error(`no sink named ${name}`);
  return KINDS[name]!.create(config, logger);
}
