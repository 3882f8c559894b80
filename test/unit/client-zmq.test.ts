// The client's ZeroMQ transport (src/client/transport-zmq.ts) against a real ZeroMQ ROUTER run by the
// test (the zeromq package), which answers as a misbehaving daemon might: out of order, not at all,
// or not there. What a daemon's ROUTER does with the client is test/integration/client-zmq.test.ts.
import * as zmq from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, DeliveryTimeoutError, type SparknginClient } from '../../src/client/index';
import { instanceUrl } from '../../src/client/endpoints';
import { bodyIds, ZmqChannel } from '../../src/client/transport-zmq';
import type { DiscoveredInstance } from '../../src/discovery/browse';
import { EnvelopeEncoder } from '../../src/envelope/codec-binary';
import { newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes, readFrames } from '../../src/envelope/nw1';
import { freePort } from '../peers/ports';

const clients: SparknginClient[] = [];
const routers: zmq.Router[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((made) => made.close()));
  for (const router of routers.splice(0)) router.close();
});

function client(options: Parameters<typeof createClient>[0]): SparknginClient {
  const made = createClient(options);
  clients.push(made);
  return made;
}

interface Received {
  identity: Buffer;
  params: string;
  ids: string[];
}

/** A ROUTER on a free port; `answer` decides, per batch of messages received, what goes back and in which order. */
async function router(address = '127.0.0.1'): Promise<{ url: string; socket: zmq.Router; next(): Promise<Received> }> {
  const socket = new zmq.Router({ linger: 0, ipv6: address.startsWith('[') });
  routers.push(socket);
  await socket.bind(`tcp://${address}:*`);
  const url = socket.lastEndpoint!;
  const next = async (): Promise<Received> => {
    const [identity, params, body] = await socket.receive();
    return { identity: identity!, params: params!.toString(), ids: readFrames(body!, 1000, () => new Error('too many')).map((e) => e.id) };
  };
  return { url, socket, next };
}

const accepted = (m: Received) => [m.identity, JSON.stringify({ status: 202, accepted: m.ids.length, ids: m.ids })];

describe('tcp:// instances', () => {
  it('are taken as tcp://HOST:PORT, nothing more', () => {
    expect(createClient({ urls: ['tcp://127.0.0.1:7082', 'tcp://[::1]:7082', 'tcp://sparkngin.lan:7082'] }).settings.urls).toHaveLength(3);
    const problems = ['tcp://127.0.0.1', 'tcp://h:1/path', 'tcp://h:1?ack=sink'].map((url) => `urls: '${url}' is not a ZeroMQ endpoint tcp://HOST:PORT`);
    expect(() => createClient({ urls: ['tcp://127.0.0.1', 'tcp://h:1/path', 'tcp://h:1?ack=sink'] })).toThrow(expect.objectContaining({ code: 'CLIENT_OPTIONS_INVALID', problems }));
  });

  it('CURVE keys are checked: Z85, a pair goes together and with a server key; so is maxMessageBytes (default the daemon\'s)', () => {
    const key = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';
    const problems = ["zmq.curveServerKey: expected a CURVE key in Z85 (40 characters)", 'zmq: curvePublicKey and curveSecretKey go together (a key pair)'];
    expect(() => createClient({ urls: 'tcp://h:1', zmq: { curveServerKey: 'short', curvePublicKey: key } })).toThrow(expect.objectContaining({ problems }));
    const pairOnly = ['zmq.curvePublicKey: needs zmq.curveServerKey (the key pair is for a CURVE server)'];
    expect(() => createClient({ urls: 'tcp://h:1', zmq: { curvePublicKey: key, curveSecretKey: key } })).toThrow(expect.objectContaining({ problems: pairOnly }));
    expect(createClient({ urls: 'tcp://h:1', zmq: { curveServerKey: key } }).settings.zmq).toEqual({ curveServerKey: key, maxMessageBytes: 16 * 1024 * 1024 });
    expect(() => createClient({ urls: 'tcp://h:1', zmq: { maxMessageBytes: 0 } })).toThrow(/zmq.maxMessageBytes: expected a number from 1/);
  });

  it('discovery.transport zmq: an instance advertising a ROUTER with nw1 is its tcp:// URL; the others are skipped, saying why', () => {
    const found = (txt: Record<string, string>, ingest = ['http', 'zmq']): DiscoveredInstance => ({
      name: 'Sparkngin on a', host: 'a.local', port: 7080, addresses: ['10.0.0.2', 'fe80::1'], txt, basePath: '/v1', proto: 'http', ingest, tokenRequired: false, urls: ['http://10.0.0.2:7080'], reachable: true,
    });
    expect(instanceUrl(found({ 'zmq-router': '7082', 'zmq-framing': 'nw1' }), 'zmq')).toEqual({ url: 'tcp://10.0.0.2:7082' });
    expect(instanceUrl(found({ 'zmq-router': '7082', 'zmq-framing': 'nw1' }), 'http')).toEqual({ url: 'http://10.0.0.2:7080' });
    expect(instanceUrl(found({ 'zmq-router': '7082', 'zmq-framing': 'raw' }), 'zmq')).toEqual({ why: 'its ZeroMQ framing is raw, not nw1' });
    expect(instanceUrl(found({ 'zmq-pull': '7081', 'zmq-framing': 'nw1' }), 'zmq')).toEqual({ why: 'it advertises no ZeroMQ ROUTER (zmq-router)' });
    expect(instanceUrl(found({ 'zmq-router': '7082', 'zmq-framing': 'nw1' }, ['http']), 'zmq')).toEqual({ why: 'it advertises no ZeroMQ ROUTER (zmq-router)' });
    expect(instanceUrl(found({ 'zmq-router': 'x', 'zmq-framing': 'nw1' }), 'zmq')).toEqual({ why: 'it advertises no ZeroMQ ROUTER (zmq-router)' });
  });

  it('a body names its count, first and last id as a 202 lists them', () => {
    const encoder = new EnvelopeEncoder();
    const ids = [newEventId(), newEventId(), newEventId()];
    const body = frameEnvelopes(ids.map((id) => encoder.encode({ id, topic: 't', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'text', data: Buffer.from(id) })));
    expect(bodyIds(body)).toEqual({ count: 3, first: ids[0], last: ids[2] });
    expect(bodyIds(body.subarray(0, body.length - 1))).toBeUndefined();
  });

  it('sends ?ack= with each body, pipelines, and matches answers to requests in order', async () => {
    const r = await router();
    const made = client({ urls: r.url, ack: 'sink', batch: { maxEvents: 1, lingerMs: 0 } });
    const sends = [made.send('t', 1), made.send('t', 2), made.send('t', 3, { ack: 'spool' })];
    const received = [await r.next(), await r.next(), await r.next()];
    expect(received.map((m) => m.params)).toEqual(['?ack=sink', '?ack=sink', '?ack=spool']);
    for (const m of received) await r.socket.send(accepted(m));
    const deliveries = await Promise.all(sends);
    expect(deliveries.map((d) => d.id)).toEqual(received.map((m) => m.ids[0]));
    expect(deliveries.every((d) => d.status === 'acked' && d.attempts === 1)).toBe(true);
  });

  it('reaches an instance at an IPv6 address', async () => {
    const r = await router('[::1]');
    expect(r.url).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
    const made = client({ urls: r.url, batch: { lingerMs: 0 } });
    const sent = made.send('t', 'over IPv6');
    await r.socket.send(accepted(await r.next()));
    expect(await sent).toMatchObject({ status: 'acked', instance: r.url });
  });

  it('an answer that does not fit its request (out of order) acknowledges nothing: the socket is dropped and both are sent again', async () => {
    const r = await router();
    const made = client({ urls: r.url, healthIntervalMs: 20, batch: { maxEvents: 1, lingerMs: 0 } });
    const sends = [made.send('t', 1), made.send('t', 2)];
    const [first, second] = [await r.next(), await r.next()];
    await r.socket.send(accepted(second!));
    await r.socket.send(accepted(first!));
    // Sent again on a new connection (a new identity), each with its own ids: answered in order now.
    const again = [await r.next(), await r.next()];
    expect(again[0]!.identity.equals(first!.identity)).toBe(false);
    expect(new Set(again.flatMap((m) => m.ids))).toEqual(new Set([...first!.ids, ...second!.ids]));
    for (const m of again) await r.socket.send(accepted(m));
    const deliveries = await Promise.all(sends);
    expect(deliveries.map((d) => d.attempts)).toEqual([2, 2]);
    expect(made.stats().retries).toBe(2);
  });

  it('no answer within requestTimeoutMs: sent again with the same ids', async () => {
    const r = await router();
    const made = client({ urls: r.url, requestTimeoutMs: 200, healthIntervalMs: 20, batch: { lingerMs: 0 } });
    const sent = made.send('t', 'x');
    const ignored = await r.next();
    const again = await r.next();
    expect(again.ids).toEqual(ignored.ids);
    await r.socket.send(accepted(again));
    expect(await sent).toMatchObject({ status: 'acked', attempts: 2 });
    expect(made.stats().instances[0]!.lastError).toBe('no answer within 200 ms');
  });

  it('nothing listening: the instance is down at once (not after requestTimeoutMs), and the event times out with why', async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    const made = client({ urls: url, requestTimeoutMs: 60_000, deliveryTimeoutMs: 1000, batch: { lingerMs: 0 } });
    const error = await made.send('t', 'x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryTimeoutError);
    expect((error as Error).message).toContain(`cannot connect to ${url}`);
    expect(made.stats().instances[0]).toMatchObject({ url, state: 'down' });
  });

  it('a refusal is matched to its request and rejects only its events', async () => {
    const r = await router();
    const made = client({ urls: r.url, batch: { maxEvents: 1, lingerMs: 0 } });
    const sends = [made.send('t', 1), made.send('t', 2)].map((p) => p.catch((error: unknown) => error));
    const [first, second] = [await r.next(), await r.next()];
    await r.socket.send([first!.identity, JSON.stringify({ status: 403, error: { code: 'TOPIC_NOT_ALLOWED', message: 'no' } })]);
    await r.socket.send(accepted(second!));
    const [refused, ok] = await Promise.all(sends);
    expect(refused).toMatchObject({ code: 'EVENT_REFUSED', status: 403, serverCode: 'TOPIC_NOT_ALLOWED' });
    expect(ok).toMatchObject({ status: 'acked', id: second!.ids[0] });
  });
});

// zeromq throws at once from send() on a closed socket (checked: 'Socket is closed', EBADF); a send
// still queued behind others when a reset closed the socket once became an unhandled rejection (met
// by the failover test under load). The timing that leaves sends queued cannot be forced from here,
// so this checks what close() promises with 200 requests in flight, without unhandled rejections.
describe('a channel closed with requests in flight', () => {
  it('answers every one (to retry), with no unhandled rejection', async () => {
    const r = await router();
    const channel = new ZmqChannel(new URL(r.url), { maxMessageBytes: 16 * 1024 * 1024 });
    const encoder = new EnvelopeEncoder();
    const request = () => {
      const id = newEventId();
      return { ack: 'spool' as const, events: 1, timeoutMs: 30_000, body: frameEnvelopes([encoder.encode({ id, topic: 't', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'text', data: Buffer.from(id) })]) };
    };
    const first = channel.request(request());
    await r.socket.send(accepted(await r.next()));
    expect((await first).kind).toBe('acked');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const queued = Array.from({ length: 200 }, () => channel.request(request()));
      await r.next();
      channel.close();
      const outcomes = await Promise.all(queued);
      expect(outcomes.every((outcome) => outcome.kind === 'retry')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
