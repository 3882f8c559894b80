// Batches to a Flume HTTP source with its JSONHandler, as one JSON array of
// `{"headers": {…}, "body": "…"}`. The source puts the whole array into its channel in one
// transaction and answers 200 only once the channel committed it: that answer is what makes a batch
// delivered (503 is a full channel: sent again later).
//
// The body is a string: a text or JSON payload as it is; a binary payload in base64, with the header
// `sparkngin.encoding: base64` (the JSONHandler reads the body as text, which would change bytes
// that are not UTF-8).
import type { Envelope } from '../../envelope/envelope';
import { fetchFailure, FlumeHttpError } from './classify';
import type { FlumeSinkConfig } from './config';
import { FLUME_HEADER, flumeHeaders, type FlumeTransport } from './transport';

export function flumeEvent(envelope: Envelope): { headers: Record<string, string>; body: string } {
  const headers = flumeHeaders(envelope);
  if (envelope.type === 'binary') {
    headers[FLUME_HEADER.encoding] = 'base64';
    return { headers, body: envelope.data.toString('base64') };
  }
  return { headers, body: envelope.data.toString('utf8') };
}

export class FlumeHttpTransport implements FlumeTransport {
  constructor(private readonly config: FlumeSinkConfig) {}

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
    } catch (thrown) {
      throw fetchFailure(thrown);
    }
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
}
