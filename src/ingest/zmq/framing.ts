// A ZeroMQ message (its frames, after a ROUTER's routing envelope) → envelopes, or the refusal that
// is its answer. Two framings (zmq.framing), byte by byte in docs/zeromq.md:
//
//   raw   [head] payload…   head: `topic` or `topic?key=…&sts=…&ack=…&type=…` (the query rules of
//                           the HTTP routes), present unless zmq.topic names the topic; then every
//                           frame is a payload. Each payload frame is one event of zmq.type (or the
//                           head's type=): binary as is, text UTF-8, json one line of JSON.
//   nw1   [?params] body…   params: an optional first frame `?ack=sink`; each body is an NW1 body
//                           ("SNW1", then u32 LE length + binary envelope, …: src/envelope/README.md),
//                           its envelopes checked as on HTTP (src/ingest/nw1.ts); each envelope
//                           names its own topic, id, key, client time and headers.
//
// A message is all or nothing, like an HTTP request: one bad frame refuses it whole.
import { isUtf8 } from 'node:buffer';
import type { AckSetting, Config, ZmqEventType } from '../../config/defaults';
import { EnvelopeDecodeError } from '../../envelope/codec-binary';
import { type Envelope, newEventId, newHeaders } from '../../envelope/envelope';
import { readFrames } from '../../envelope/nw1';
import { clientTimeProblem, dataProblem, isLegalTopic, keyProblem, TOPIC_RULE } from '../../envelope/rules';
import { RequestError } from '../../errors';
import type { TopicFilter } from '../../sinks/route';
import { clientEnvelopeProblem } from '../nw1';
import { parseQuery, type Query } from '../query';
import { badRequest, tooManyEvents } from '../respond';

export interface Framing {
  framing: Config['zmq']['framing'];
  /** raw: the topic of every message, or '' (the head names it). */
  topic: string;
  type: ZmqEventType;
  maxEvents: number;
  /** http.topics: what any ingest takes. */
  allowed: TopicFilter;
  /** Host name written into the envelopes. */
  host: string;
  now: () => number;
}

export interface Decoded {
  envelopes: Envelope[];
  /** The ack mode the message asked for, if it did. */
  ack: AckSetting | undefined;
}

const EMPTY_HEADERS: Record<string, string> = Object.freeze(newHeaders());
const TYPES = new Set<string>(['binary', 'text', 'json']);

const invalid = (code: string, message: string) => badRequest(code, message);

export function decodeMessage(frames: readonly Buffer[], framing: Framing): Decoded {
  if (frames.length === 0) throw invalid('EMPTY_MESSAGE', 'the message has no frame');
  return framing.framing === 'nw1' ? decodeNw1(frames, framing) : decodeRaw(frames, framing);
}

function decodeRaw(frames: readonly Buffer[], framing: Framing): Decoded {
  let topic = framing.topic;
  let query: Query;
  let first = 0;
  if (topic === '') {
    const head = utf8(frames[0]!, 'the first frame (the topic)');
    const mark = head.indexOf('?');
    topic = mark === -1 ? head : head.slice(0, mark);
    query = mark === -1 ? undefined : parseQuery(head.slice(mark + 1));
    first = 1;
  }
  checkTopic(topic, framing.allowed);
  const count = frames.length - first;
  if (count === 0) throw invalid('EMPTY_MESSAGE', `the message names topic '${topic}' but holds no payload frame`);
  if (count > framing.maxEvents) throw tooManyEvents(framing.maxEvents, 'zmq.maxEventsPerMessage');
  const type = eventType(query?.get('type') ?? framing.type);
  const key = messageKey(query?.get('key'));
  const sts = clientTime(query?.get('sts'));
  const ts = framing.now();
  const envelopes = new Array<Envelope>(count);
  for (let i = 0; i < count; i++) {
    const data = frames[first + i]!;
    if (data.length === 0) throw invalid('EMPTY_FRAME', `frame ${first + i + 1} is empty (an event needs a payload)`);
    const problem = dataProblem(type, data);
    if (problem !== undefined) throw invalid('INVALID_PAYLOAD', `frame ${first + i + 1}: ${problem}`);
    envelopes[i] = { id: newEventId(ts), topic, key, ts, sts, ip: '', host: framing.host, headers: EMPTY_HEADERS, type, data };
  }
  return { envelopes, ack: ackMode(query?.get('ack')) };
}

function decodeNw1(frames: readonly Buffer[], framing: Framing): Decoded {
  let query: Query;
  let first = 0;
  if (frames[0]![0] === 0x3f /* ? */) {
    query = parseQuery(utf8(frames[0]!, 'the parameters frame').slice(1));
    for (const name of ['key', 'sts', 'type']) {
      if (query?.has(name)) throw invalid('INVALID_QUERY', `nw1 envelopes carry their own ${name}; only ack= is a parameter here`);
    }
    first = 1;
  }
  if (first === frames.length) throw invalid('EMPTY_MESSAGE', 'the message holds no NW1 body');
  const ts = framing.now();
  const envelopes: Envelope[] = [];
  for (let f = first; f < frames.length; f++) {
    const left = framing.maxEvents - envelopes.length;
    let decoded: Envelope[];
    try {
      decoded = readFrames(frames[f]!, left, () => tooManyEvents(framing.maxEvents, 'zmq.maxEventsPerMessage'));
    } catch (error) {
      if (error instanceof EnvelopeDecodeError) throw invalid('INVALID_ENVELOPE', `frame ${f + 1}: ${error.message}`);
      throw error;
    }
    decoded.forEach((envelope, i) => {
      const problem = clientEnvelopeProblem(envelope);
      if (problem !== undefined) throw invalid('INVALID_ENVELOPE', `frame ${f + 1}, envelope ${i + 1}: ${problem}`);
      checkTopic(envelope.topic, framing.allowed);
      envelopes.push({ ...envelope, ts, ip: '', host: framing.host });
    });
  }
  return { envelopes, ack: ackMode(query?.get('ack')) };
}

function utf8(frame: Buffer, what: string): string {
  if (!isUtf8(frame)) throw invalid('INVALID_UTF8', `${what} is not UTF-8 text`);
  return frame.toString('utf8');
}

function checkTopic(topic: string, allowed: TopicFilter): void {
  if (!isLegalTopic(topic)) throw invalid('INVALID_TOPIC', `invalid topic name '${topic.slice(0, 60)}': ${TOPIC_RULE}`);
  if (!allowed(topic)) throw new RequestError(403, 'TOPIC_NOT_ALLOWED', `this server takes no events for topic '${topic}'`);
}

function eventType(type: string): ZmqEventType {
  if (!TYPES.has(type)) throw invalid('INVALID_TYPE', `type must be binary, text or json, got '${type.slice(0, 40)}'`);
  return type as ZmqEventType;
}

function messageKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const problem = keyProblem(key);
  if (problem !== undefined) throw invalid('INVALID_KEY', problem);
  return key;
}

function clientTime(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const sts = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  const problem = clientTimeProblem(sts);
  if (problem !== undefined) throw invalid('INVALID_TIME', problem);
  return sts;
}

function ackMode(ack: string | undefined): AckSetting | undefined {
  if (ack === undefined) return undefined;
  if (ack !== 'spool' && ack !== 'sink') throw invalid('INVALID_ACK', `ack must be 'spool' or 'sink', got '${ack.slice(0, 40)}'`);
  return ack;
}
