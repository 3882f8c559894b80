// Payloads + request metadata → envelopes. Per event this is one id and one object of a fixed shape
// (key and sts always present, possibly undefined, so every envelope shares one hidden class);
// everything else — topic, ts, ip, host, the headers object — is computed once per request and shared.
// NW1 envelopes bring their own id, type, key, client time and headers per event (nw1.ts).
import { receivedRecords } from '../envelope/codec-binary';
import { type Envelope, newEventId } from '../envelope/envelope';
import type { IngestContext } from './context';
import type { EventMeta } from './meta';
import type { Batch } from './parse';

export interface Built {
  envelopes: Envelope[];
  ids: string[];
  /** The envelopes' spool records, when they were made cheaper than the target's encoding would (NW1: receivedRecords). */
  records?: Buffer[];
}

export function buildEnvelopes(context: IngestContext, topic: string, meta: EventMeta, batch: Batch): Built {
  // Server receive time: the moment the whole request is in (ids are ordered by it too).
  const ts = context.now();
  const { items, type } = batch;
  const { key, sts, ip, headers } = meta;
  const host = context.host;
  const count = items.length;
  const envelopes = new Array<Envelope>(count);
  const ids = new Array<string>(count);
  const given = batch.given;
  if (given !== undefined) {
    // NW1 and the REST Proxy routes: the client's own id, type, key, time, partition and headers; receive time, address and host are ours.
    for (let i = 0; i < count; i++) {
      const event = given[i]!;
      ids[i] = event.id;
      const envelope: Envelope = { id: event.id, topic, key: event.key, ts, sts: event.sts, ip, host, headers: event.headers, type: event.type, data: items[i]! };
      if (event.partition !== undefined) envelope.partition = event.partition;
      envelopes[i] = envelope;
    }
    if (batch.frames === undefined) return { envelopes, ids };
    return { envelopes, ids, records: receivedRecords(given as Envelope[], batch.frames, { ts, ip, host }) };
  }
  for (let i = 0; i < count; i++) {
    const id = newEventId(ts);
    ids[i] = id;
    envelopes[i] = { id, topic, key, ts, sts, ip, host, headers, type, data: items[i]! };
  }
  return { envelopes, ids };
}
