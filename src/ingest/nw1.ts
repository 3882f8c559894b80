// `POST /v1/topics/{topic}` with `Content-Type: application/vnd.sparkngin.nw1`: a batch of binary
// envelopes (src/envelope/nw1.ts, byte layout in src/envelope/README.md) made by a client that chose
// each event's id, type, key, client time and headers itself. The id is kept as given, so that a
// retry of the same event (after a timeout, through another instance) carries the same id and a
// consumer can tell the copies apart. The fields only a server can vouch for (receive time, client
// address, host) are the server's: an envelope must leave them empty. Each envelope is checked like
// any other input (src/envelope/rules.ts) and against the path's topic; one bad envelope refuses the
// whole request, as one bad NDJSON line does.
import { EnvelopeDecodeError } from '../envelope/codec-binary';
import type { Envelope } from '../envelope/envelope';
import { eventIdProblem, readFrames } from '../envelope/nw1';
import { dataProblem, metaProblem } from '../envelope/rules';
import type { EventMeta } from './meta';
import type { Batch, GivenFields } from './parse';
import { badRequest, tooManyEvents } from './respond';

const invalid = (message: string) => badRequest('INVALID_ENVELOPE', message);

/** NW1 body → one payload per envelope, with each envelope's own fields in `given`. */
export function parseEnvelopes(body: Buffer, maxEvents: number, topic: string): Batch {
  let envelopes;
  const frames: Buffer[] = [];
  try {
    envelopes = readFrames(body, maxEvents, () => tooManyEvents(maxEvents), frames);
  } catch (error) {
    if (error instanceof EnvelopeDecodeError) throw invalid(error.message);
    throw error;
  }
  const items = new Array<Buffer>(envelopes.length);
  // The envelope is what the event was given (id, type, key, client time, headers): no copy.
  const given: GivenFields[] = envelopes;
  // An envelope decoded like the one before shares its headers object (readFrames), and with it
  // topic, key and client time: those are checked once, its id and payload each time.
  let checkedHeaders: Record<string, string> | undefined;
  for (let i = 0; i < envelopes.length; i++) {
    const envelope = envelopes[i]!;
    const where = `envelope ${i + 1}`;
    if (envelope.headers !== checkedHeaders) {
      if (envelope.topic !== topic) throw invalid(`${where}: its topic '${envelope.topic.slice(0, 60)}' is not the path's ('${topic}')`);
      const problem = sharedFieldsProblem(envelope);
      if (problem !== undefined) throw invalid(`${where}: ${problem}`);
      checkedHeaders = envelope.headers;
    }
    const problem = ownFieldsProblem(envelope);
    if (problem !== undefined) throw invalid(`${where}: ${problem}`);
    items[i] = envelope.data;
  }
  return { type: 'binary', items, given, frames };
}

/**
 * Why an envelope a client made cannot be taken (its topic aside, which each transport checks its
 * own way), or undefined: the server's fields empty, a UUIDv7 id, the event rules. ZeroMQ's nw1
 * framing (src/ingest/zmq/) checks its envelopes with this too.
 */
export function clientEnvelopeProblem(envelope: Envelope): string | undefined {
  return sharedFieldsProblem(envelope) ?? ownFieldsProblem(envelope);
}

/** What envelopes alike share (readFrames): the server's fields empty, and key, client time and headers by the event rules. */
function sharedFieldsProblem(envelope: Envelope): string | undefined {
  if (envelope.ts !== 0 || envelope.ip !== '' || envelope.host !== '') return "ts, ip and host are set by the server that receives it; send 0, '' and ''";
  return metaProblem(envelope);
}

/** What each envelope has of its own: a UUIDv7 id, and a payload its type allows. */
function ownFieldsProblem(envelope: Envelope): string | undefined {
  return eventIdProblem(envelope.id) ?? dataProblem(envelope.type, envelope.data);
}

/** An NW1 request carries key, client time and headers in each envelope; the same given beside them would be ambiguous. */
export function refuseRequestMeta(meta: EventMeta): void {
  const extra = [meta.key !== undefined && 'key', meta.sts !== undefined && 'sts', Object.keys(meta.headers).length > 0 && 'X-Sparkngin-Header-*'].filter(Boolean);
  if (extra.length > 0) throw invalid(`NW1 envelopes carry their own key, client time and headers; leave ${extra.join(', ')} out of the request`);
}
