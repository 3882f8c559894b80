// Every kind of sink, one line each: its folder holds the rest (config.ts, sink.ts, classify.ts).
import { fileKind } from './file/config';
import { flumeKind } from './flume/config';
import { kafkaKind } from './kafka/config';
import type { CommonSinkConfig, SinkKind } from './kind';
import { syslogKind } from './syslog/config';
import { zeromqKind } from './zeromq/config';

export const SINK_KINDS: ReadonlyArray<SinkKind<any>> = [fileKind, kafkaKind, zeromqKind, syslogKind, flumeKind];

export function sinkKind(kind: string): SinkKind<CommonSinkConfig> | undefined {
  return SINK_KINDS.find((candidate) => candidate.kind === kind);
}

/** Settings every kind has with the same default: the documents give them once, as `sinks.NAME.<key>`. */
export const SHARED_SINK_KEYS: readonly string[] = ['topics', 'rename', 'filter.keys', 'filter.headers', 'retry.initialMs', 'retry.maxMs', 'retry.factor', 'retry.jitter'];

/** The name under which the documents give a setting: `sinks.kafka.retry.maxMs` → `sinks.NAME.retry.maxMs`; any other key is itself. */
export function documentedKey(key: string): string {
  const match = /^sinks\.([^.]+)\.(.+)$/.exec(key);
  return match !== null && sinkKind(match[1]!) !== undefined && SHARED_SINK_KEYS.includes(match[2]!) ? `sinks.NAME.${match[2]}` : key;
}
