// send()/sendRaw() arguments → one envelope, checked against the rules every instance applies
// (src/envelope/rules.ts), so that a bad event is refused on its own here and never makes an instance
// refuse the whole batch it would have gone into, and written straight into its batch's body. The id
// is made here, once, in place: every retry of the event, through any instance or from the spill,
// carries the same one.
//
// Events mostly share topic, key, client time and headers: the envelope's fields between the id and
// the payload are encoded (and checked) once and copied while they stay the same, as the daemon's
// ingest does for a request (codec-binary.ts EnvelopeEncoder).
import { encodeEnvelope, encodeFields, envelopeFlags, envelopeRoom, ID_AT, writeEnvelope } from '../envelope/codec-binary';
import { type Envelope, type EventType, newHeaders } from '../envelope/envelope';
import { writeEventId, writeEventIdBytes } from '../envelope/id';
import { eventIdProblem, FRAME_HEADER } from '../envelope/nw1';
import { dataProblem, eventProblem, jsonTextProblem, metaProblem } from '../envelope/rules';
import type { Batch } from './batch';
import type { AckMode } from './options';
import { InvalidEventError } from './errors';

const NO_HEADERS: Record<string, string> = Object.freeze(newHeaders());

export interface SendOptions {
  /** Kafka record key. */
  key?: string;
  /** Event headers; names are lower-cased (as every route stores them). */
  headers?: Record<string, string>;
  /** Client time: a Date or ms since the epoch (whole ms). */
  time?: Date | number;
  /** This event's ack mode, over the client's. */
  ack?: AckMode;
}

export interface RawSendOptions extends SendOptions {
  /** What the bytes are: `binary` (default), `text` (UTF-8) or `json` (one line of JSON). */
  type?: EventType;
}

export const NO_OPTIONS: RawSendOptions = Object.freeze({});

/**
 * Writes events as frames past the end of a batch's body (not yet part of it: Batch.commit takes
 * them). Each method returns the frame's length, or throws InvalidEventError having written nothing
 * that counts.
 */
export class EventWriter {
  // The fields of the last event, and what they were made from.
  private topic: string | undefined;
  private key: string | undefined;
  private sts: number | undefined;
  private headers: Record<string, string> | undefined;
  private fields: Buffer = Buffer.alloc(0);
  private flags = 0;

  /** A JSON value → a `json` event. */
  json(batch: Batch, topic: string, value: unknown, options: SendOptions): number {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new InvalidEventError(`the value cannot be written as JSON: ${(error as Error).message}`);
    }
    if (text === undefined) throw new InvalidEventError(`the value cannot be written as JSON (${typeof value})`);
    // JSON.stringify writes JSON on one line: only the rest needs checking.
    this.prepare(topic, options);
    return this.write(batch, 'json', text, undefined);
  }

  /** Bytes (or a string, written as UTF-8) → an event of `options.type`. */
  raw(batch: Batch, topic: string, data: Uint8Array | string, options: RawSendOptions): number {
    const type = options.type ?? 'binary';
    if (type !== 'binary' && type !== 'text' && type !== 'json') throw new InvalidEventError(`type must be binary, text or json, got ${String(type)}`);
    let problem: string | undefined;
    if (typeof data === 'string') {
      // A string is UTF-8 once written: only JSON needs checking.
      if (type === 'json') problem = jsonTextProblem(data);
    } else if (data instanceof Uint8Array) {
      if (type !== 'binary') problem = dataProblem(type, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } else {
      throw new InvalidEventError('the data must be a string or a Uint8Array (a Buffer)');
    }
    if (problem !== undefined) throw new InvalidEventError(problem);
    this.prepare(topic, options);
    return this.write(batch, type, data, undefined);
  }

  /**
   * An event received elsewhere, sent on as it is (a relay: `sparkngin drain`): id, type, key, client
   * time, headers, partition and payload kept; receive time, address and host left for the receiving instance.
   */
  relayed(batch: Batch, envelope: Envelope): number {
    const problem = eventIdProblem(envelope.id) ?? eventProblem(envelope);
    if (problem !== undefined) throw new InvalidEventError(problem);
    // A Kafka partition the event names (a trailer the shared-fields writer does not write) is kept: encoded whole.
    if (envelope.partition !== undefined) return batch.writeFrame(encodeEnvelope({ ...envelope, ts: 0, ip: '', host: '' }));
    this.use(envelope.topic, envelope.key, envelope.sts, envelope.headers, true);
    return this.write(batch, envelope.type, envelope.data, envelope.id);
  }

  /** Checks and encodes topic, key, client time and headers, unless they are those of the event before. */
  private prepare(topic: string, options: SendOptions): void {
    if (typeof topic !== 'string') throw new InvalidEventError('the topic must be a string');
    const { key, time } = options;
    if (key !== undefined && typeof key !== 'string') throw new InvalidEventError('the key must be a string');
    const sts = time instanceof Date ? time.getTime() : time;
    let headers = NO_HEADERS;
    if (options.headers !== undefined) {
      headers = newHeaders();
      for (const [name, value] of Object.entries(options.headers)) {
        if (typeof value !== 'string') throw new InvalidEventError(`the header '${name.slice(0, 60)}' must have a string value`);
        const lower = name.toLowerCase();
        if (lower in headers) throw new InvalidEventError(`the header '${lower.slice(0, 60)}' is given twice (names are case-insensitive)`);
        headers[lower] = value;
      }
    }
    this.use(topic, key, sts, headers);
  }

  /** `checked`: the fields passed eventProblem already (a relayed envelope), not checked again. */
  private use(topic: string, key: string | undefined, sts: number | undefined, headers: Record<string, string>, checked = false): void {
    // Headers given with an event are a new object each time: compared as such, their fields are encoded per event.
    if (topic === this.topic && key === this.key && sts === this.sts && headers === this.headers) return;
    const fields = { topic, key, sts, headers, ts: 0, ip: '', host: '' };
    const problem = checked ? undefined : metaProblem(fields);
    if (problem !== undefined) throw new InvalidEventError(problem);
    this.fields = encodeFields(fields);
    this.flags = envelopeFlags(fields);
    this.topic = topic;
    this.key = key;
    this.sts = sts;
    this.headers = headers;
  }

  /** Writes the frame at the end of the batch: its length, then the envelope with a new id (or `id`). */
  private write(batch: Batch, type: EventType, data: Uint8Array | string, id: string | undefined): number {
    batch.reserve(FRAME_HEADER + envelopeRoom(this.fields.length, data));
    const { body, size: at } = batch;
    const envelopeAt = at + FRAME_HEADER;
    const end = writeEnvelope(body, envelopeAt, type, this.flags, this.fields, data);
    if (id === undefined) writeEventId(body, envelopeAt + ID_AT, Date.now());
    else writeEventIdBytes(body, envelopeAt + ID_AT, id);
    body.writeUInt32LE(end - envelopeAt, at);
    return end - at;
  }
}
