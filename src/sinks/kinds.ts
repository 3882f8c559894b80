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
