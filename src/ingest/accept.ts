// Parsed payloads → envelopes → the target, within the request's share of memory. Every route that
// takes events ends here, and is charged here once its memory is granted (access.ts: the topic
// authorized again, the events and bytes counted against the client's rate), so that no route can
// store what it must not and a request refused 503 costs the client nothing. Written without `async`
// on purpose: nothing that waits for the target (an `ack=sink` request may wait many seconds) keeps
// the envelopes or the body alive, only the ids.
import { REQUEST_BYTES, EVENT_BYTES, ID_BYTES, busy, shareOf } from './budget';
import type { Exchange, IngestContext } from './context';
import { buildEnvelopes } from './envelopes';
import type { EventMeta } from './meta';
import type { Batch } from './parse';
import { RequestError } from '../errors';
import type { RangePositions } from '../sinks/waiters';

/**
 * Resolves with the events' ids once the target acknowledged them per `meta.ack`. With `positioned`
 * and `ack=sink`, it is first called with where the sinks put each event (Kafka's offsets).
 */
export function acceptEvents(exchange: Exchange, context: IngestContext, topic: string, meta: EventMeta, batch: Batch, positioned?: (positions: RangePositions) => void): Promise<string[]> {
  const share = shareOf(exchange, context.limits.budget);
  if (!share.take(REQUEST_BYTES + batch.items.length * EVENT_BYTES)) return Promise.reject(busy());
  context.access.charge(exchange, topic, batch);
  const { envelopes, ids, records } = buildEnvelopes(context, topic, meta, batch);
  const acknowledged = () => {
    context.accepted.note(exchange.receivedAt, ids.length);
    return ids;
  };
  if (meta.ack === 'spool') return context.target.accept(envelopes, 'spool', records && { records }).then(acknowledged);
  // Stored, the events' memory is given back while the request waits for its sinks.
  const onStored = () => share.keepOnly(REQUEST_BYTES + ids.length * ID_BYTES);
  return context.target.accept(envelopes, 'sink', { signal: abortedWhenGone(exchange), onStored, positions: positioned !== undefined, records }).then((positions) => {
    if (positions) positioned?.(positions);
    return acknowledged();
  });
}

/** What a request whose client left before its answer ends with (499, nginx's code for it). */
export const clientClosed = () => new RequestError(499, 'CLIENT_CLOSED', 'the client closed the connection before the answer');

/** Aborted when the connection closes before the answer was sent: nobody is left waiting for it. */
function abortedWhenGone({ response }: Exchange): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort(clientClosed());
  });
  return controller.signal;
}
