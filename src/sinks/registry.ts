// Sinks register here by name; the daemon starts every one its configuration enables. Adding a sink
// is one entry: a factory that returns the sink and its delivery settings, or nothing when disabled.
import type { Config } from '../config/defaults';
import type { Logger } from '../ops/log';
import { FileSink } from './file/sink';
import { KafkaSink } from './kafka/sink';
import type { DeliveryConfig, Sink } from './sink';

export interface ConfiguredSink {
  sink: Sink;
  delivery: DeliveryConfig;
}

type SinkFactory = (config: Config, logger: Logger) => ConfiguredSink | undefined;

const FACTORIES: Record<string, SinkFactory> = {
  file: (config, logger) => (config.sinks.file.enabled ? { sink: new FileSink(config.sinks.file, logger), delivery: config.sinks.file } : undefined),
  kafka: (config, logger) =>
    config.sinks.kafka.enabled ? { sink: new KafkaSink(config.sinks.kafka, logger), delivery: config.sinks.kafka } : undefined,
};

export function createSinks(config: Config, logger: Logger): ConfiguredSink[] {
  return Object.values(FACTORIES)
    .map((factory) => factory(config, logger))
    .filter((configured): configured is ConfiguredSink => configured !== undefined);
}
