// The Flume sink: batches of events to an Apache Flume agent's HTTP source with its JSONHandler, as
// one JSON array of `{"headers": {…}, "body": "…"}`. The source puts the whole array into its
// channel in one transaction and answers 200 only once the channel committed it: that answer is
// what makes a batch delivered (503 is a full channel: sent again later).
//
// Headers: the event's own, and `sparkngin.id`, `topic`, `key` (when there is one), `host` and
// `timestamp` (receive time in ms: what Flume's HDFS sink buckets by). The body is a string: a text
// or JSON payload as it is; a binary payload in base64, with the header `sparkngin.encoding: base64`
// (the JSONHandler reads the body as text, which would change bytes that are not UTF-8).
import type { Envelope } from '../../envelope/envelope';
import { SinkError } from '../../errors';
import type { Logger } from '../../ops/log';
import type { FailureClass, Sink, SinkHealth } from '../sink';
import { classifyFlumeError, fetchFailure, FlumeHttpError } from './classify';
import type { FlumeSinkConfig } from './config';

export const FLUME_HEADER = { id: 'sparkngin.id', encoding: 'sparkngin.encoding', topic: 'topic', key: 'key', host: 'host', timestamp: 'timestamp' } as const;

export function flumeEvent(envelope: Envelope): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { ...envelope.headers, [FLUME_HEADER.id]: envelope.id, [FLUME_HEADER.topic]: envelope.topic, [FLUME_HEADER.host]: envelope.host, [FLUME_HEADER.timestamp]: String(envelope.ts) };
  if (envelope.key !== undefined) headers[FLUME_HEADER.key] = envelope.key;
  if (envelope.type === 'binary') {
    headers[FLUME_HEADER.encoding] = 'base64';
    return { headers, body: envelope.data.toString('base64') };
  }
  return { headers, body: envelope.data.toString('utf8') };
}

export class FlumeSink implements Sink {
  private healthState: SinkHealth = { state: 'starting' };

  constructor(
    readonly name: string,
    private readonly config: FlumeSinkConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {}

  async send(batch: Envelope[]): Promise<void> {
    try {
      const answer = await fetch(this.config.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: JSON.stringify(batch.map(flumeEvent)),
        signal: AbortSignal.timeout(this.config.requestTimeoutMs),
      });
      const text = await answer.text();
      if (answer.status !== 200) throw new FlumeHttpError(answer.status, text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200));
      this.healthState = { state: 'up' };
    } catch (thrown) {
      const error = fetchFailure(thrown);
      const refused = classifyFlumeError(error) === 'permanent';
      this.healthState = refused ? { state: 'up' } : { state: 'down', detail: (error as Error).message };
      if (!refused) this.logger.debug('flume.send_failed', { sink: this.name, error });
      throw new SinkError(this.name, `${this.config.endpoint}: ${(error as Error).message}`, { cause: error });
    }
  }

  classify(error: unknown): FailureClass {
    return classifyFlumeError(error);
  }

  /** The agent answers HTTP at all (any status): worth sending again. */
  async probe(): Promise<void> {
    try {
      const answer = await fetch(this.config.endpoint, { method: 'GET', signal: AbortSignal.timeout(2_000) });
      await answer.arrayBuffer();
    } catch (error) {
      throw fetchFailure(error);
    }
  }

  async stop(): Promise<void> {}

  health(): SinkHealth {
    return this.healthState;
  }
}
