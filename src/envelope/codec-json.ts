// JSON encoding of an Envelope: what the file sink writes and what Kafka gets with `value: envelope`.
// A `json` payload is embedded as JSON (it was validated at ingest), `text` as a string and `binary`
// as base64, so that every line is one self-describing JSON object.
import type { Envelope } from './envelope';

export function envelopeToJson(envelope: Envelope): string {
  const data =
    envelope.type === 'json'
      ? envelope.data.toString('utf8')
      : JSON.stringify(envelope.data.toString(envelope.type === 'text' ? 'utf8' : 'base64'));
  let head = `{"id":"${envelope.id}","topic":${JSON.stringify(envelope.topic)}`;
  if (envelope.key !== undefined) head += `,"key":${JSON.stringify(envelope.key)}`;
  if (envelope.partition !== undefined) head += `,"partition":${envelope.partition}`;
  head += `,"ts":${envelope.ts}`;
  if (envelope.sts !== undefined) head += `,"sts":${envelope.sts}`;
  return `${head},"ip":${JSON.stringify(envelope.ip)},"host":${JSON.stringify(envelope.host)},"headers":${JSON.stringify(envelope.headers)},"type":"${envelope.type}","data":${data}}`;
}
