// The client library (src/client) against real ingest servers (ingest-harness.ts: the daemon's HTTP
// ingest over real sockets, a recording target in place of the spool): what reaches the server,
// batching, the bounds (requests in flight, the buffer), retries and Retry-After, refusals, failover
// when a server goes away, and the disk spill. Process-level behaviour (SIGKILL, Kafka) is in
// test/integration/client-ha.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BufferFullError, ClientClosedError, ClientOptionError, createClient, DeliveryTimeoutError, EventRefusedError, InvalidEventError, type SparknginClient } from '../../src/client/index';
import { RequestError, SinkError, SpoolFullError } from '../../src/errors';
import type { Envelope } from '../../src/envelope/envelope';
import { topicTarget } from '../../src/client/transport';
import { newToken, tokenSha256 } from '../../src/ingest/auth';
import { freePort } from '../peers/ports';
import { makeTestCa } from '../peers/test-ca';
import { type Harness, NOW, serverPerFile, settled, startServer, until } from './ingest-harness';

const h = serverPerFile();
const clients: SparknginClient[] = [];

function client(options: Parameters<typeof createClient>[0] = {}): SparknginClient {
  const made = createClient({ urls: h.url, ...options });
  clients.push(made);
  return made;
}

afterEach(async () => {
  h.target.hold = undefined;
  await Promise.all(clients.splice(0).map((made) => made.close()));
});

/** A promise and its resolver, to hold the target's answers and let them go. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('client options', () => {
  it('names every problem at once, and takes SPARKNGIN_URL when no URL is given', () => {
    let error: unknown;
    try {
      createClient({ urls: ['ftp://x', 'http://ok:1/?q'], ack: 'all' as never, batch: { maxEvents: 0, linger: 5 } as never, nope: 1 } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ClientOptionError);
    expect((error as ClientOptionError).problems).toEqual([
      "unknown option 'batch.linger'",
      "unknown option 'nope'",
      "urls: 'ftp://x' is not an http://, https:// or tcp:// URL",
      "urls: 'http://ok:1/?q' has a query or fragment; give the base URL",
      'ack: expected one of spool, sink, got all',
      'batch.maxEvents: expected a number from 1 to 9007199254740991, got 0',
    ]);
    const previous = process.env.SPARKNGIN_URL;
    process.env.SPARKNGIN_URL = `${h.url}, http://127.0.0.1:9`;
    try {
      const made = client({ urls: undefined });
      expect(made.settings.urls).toEqual([h.url, 'http://127.0.0.1:9']);
    } finally {
      if (previous === undefined) delete process.env.SPARKNGIN_URL;
      else process.env.SPARKNGIN_URL = previous;
    }
  });
});

describe('request targets', () => {
  it('keeps a base path (behind a proxy), IPv6 literals, credentials and the ack mode, and encodes the topic', () => {
    const base = new URL('https://user:p%40ss@[::1]:8443/sparkngin/');
    expect(topicTarget(base, 'a.b_c', 'spool')).toEqual({ protocol: 'https:', hostname: '::1', port: '8443', path: '/sparkngin/v1/topics/a.b_c', auth: 'user:p@ss' });
    expect(topicTarget(base, 'a.b_c', 'sink').path).toBe('/sparkngin/v1/topics/a.b_c?ack=sink');
    expect(topicTarget(new URL('http://example.com'), 'x y', 'spool')).toEqual({ protocol: 'http:', hostname: 'example.com', port: '', path: '/v1/topics/x%20y' });
    // Made once per instance, topic and ack mode.
    expect(topicTarget(base, 'a.b_c', 'spool')).toBe(topicTarget(base, 'a.b_c', 'spool'));
  });
});

describe('sending', () => {
  it('sends JSON values, text and bytes with their own id, key, client time and headers; ack per client or per call', async () => {
    const made = client({ ack: 'sink', batch: { lingerMs: 0 } });
    const [json, text, bytes] = await Promise.all([
      made.send('orders', { order: 1, note: 'ü' }, { key: 'customer-7', time: new Date(1_700_000_000_000), headers: { 'Trace-Id': 'abc' } }),
      made.sendRaw('logs', 'a line of text', { type: 'text', ack: 'spool' }),
      made.sendRaw('blobs', new Uint8Array([0, 255, 10])),
    ]);
    expect([json.status, text.status, bytes.status]).toEqual(['acked', 'acked', 'acked']);
    expect(json.instance).toBe(h.url);
    // Its id is made when read; as JSON it is the plain object it stands for.
    expect(JSON.parse(JSON.stringify(json))).toEqual({ id: json.id, status: 'acked', instance: h.url, attempts: 1 });
    expect(json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const byTopic = new Map(h.target.calls.map((call) => [call.envelopes[0]!.topic, call]));
    expect(byTopic.get('orders')!.ack).toBe('sink');
    expect(byTopic.get('logs')!.ack).toBe('spool');
    const events = new Map(h.target.events.map((event) => [event.id, event]));
    expect(events.get(json.id)).toMatchObject({ topic: 'orders', key: 'customer-7', sts: 1_700_000_000_000, ts: NOW, ip: '127.0.0.1', host: 'ingest-test', type: 'json' });
    expect({ ...events.get(json.id)!.headers }).toEqual({ 'trace-id': 'abc' });
    expect(JSON.parse(events.get(json.id)!.data.toString())).toEqual({ order: 1, note: 'ü' });
    expect(events.get(text.id)).toMatchObject({ type: 'text', data: Buffer.from('a line of text') });
    expect(events.get(bytes.id)).toMatchObject({ type: 'binary', data: Buffer.from([0, 255, 10]) });
  });

  it('refuses a bad event on its own, before it is batched: the others of the same tick arrive', async () => {
    const made = client();
    const results = await Promise.allSettled([
      made.send('ok', 1),
      made.send('bad topic', 1),
      made.send('ok', 1, { key: '' }),
      made.send('ok', undefined),
      made.send('ok', 1n),
      made.sendRaw('ok', '{"a":', { type: 'json' }),
      made.sendRaw('ok', '{\n"a":1}', { type: 'json' }),
      made.sendRaw('ok', new Uint8Array([0xc3, 0x28]), { type: 'text' }),
      made.send('ok', 1, { headers: { a: '1', A: '2' } }),
      made.send('ok', 1, { time: 1.5 }),
      made.send('ok', 2),
    ]);
    expect(results.map((result) => (result.status === 'fulfilled' ? 'acked' : (result.reason as InvalidEventError).code))).toEqual([
      'acked',
      ...Array(9).fill('INVALID_EVENT'),
      'acked',
    ]);
    expect(results.slice(1, 10).every((result) => (result as PromiseRejectedResult).reason instanceof InvalidEventError)).toBe(true);
    expect(h.target.events.map((event) => event.data.toString())).toEqual(['1', '2']);
  });

  it('batches by count and by bytes, and holds a batch for lingerMs (until flush)', async () => {
    const made = client({ batch: { maxEvents: 1000, maxBytes: 64 * 1024, lingerMs: 60_000 } });
    const first = Array.from({ length: 2500 }, (_, n) => made.send('counted', n));
    await Promise.all(first.slice(0, 2000));
    expect(h.target.calls.map((call) => call.envelopes.length)).toEqual([1000, 1000]);
    // The last 500 wait for the linger time, or for flush().
    await made.flush();
    await Promise.all(first);
    expect(h.target.calls.map((call) => call.envelopes.length)).toEqual([1000, 1000, 500]);

    h.target.reset();
    const big = 'x'.repeat(10_000);
    await Promise.all([...Array.from({ length: 20 }, () => made.send('sized', big)), made.flush()]);
    const sizes = h.target.calls.map((call) => call.envelopes.reduce((sum, event) => sum + event.data.length + 60, 0));
    expect(h.target.events).toHaveLength(20);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(h.target.calls.length).toBeGreaterThanOrEqual(4);
  });

  it('keeps at most maxInFlight requests in flight', async () => {
    const held = gate();
    h.target.hold = held.promise;
    const made = client({ maxInFlight: 3, batch: { maxEvents: 1, lingerMs: 0 } });
    const sent = Array.from({ length: 10 }, (_, n) => made.send('flight', n));
    expect(await settled(() => h.target.calls.length, 'the requests in flight stop growing')).toBe(3);
    expect(made.stats().inFlight).toBe(3);
    held.open();
    await Promise.all(sent);
    expect(h.target.events).toHaveLength(10);
  });
});

describe('the buffer', () => {
  it('fails at once when full under whenFull: fail', async () => {
    const held = gate();
    h.target.hold = held.promise;
    const made = client({ buffer: { maxBytes: 2048, whenFull: 'fail' }, batch: { lingerMs: 0 } });
    const sent = Array.from({ length: 40 }, (_, n) => made.send('full', { n, pad: 'p'.repeat(50) }));
    const refused = await Promise.allSettled(sent.slice(20));
    expect(refused.some((result) => result.status === 'rejected' && result.reason instanceof BufferFullError)).toBe(true);
    held.open();
    const all = await Promise.allSettled(sent);
    const acked = all.filter((result) => result.status === 'fulfilled').length;
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBe(h.target.events.length);
    expect(made.stats().bufferedBytes).toBe(0);
  });

  it('makes send() wait for room under whenFull: block, up to maxBlockMs', async () => {
    const held = gate();
    h.target.hold = held.promise;
    const made = client({ buffer: { maxBytes: 2048, whenFull: 'block', maxBlockMs: 60_000 }, batch: { lingerMs: 0 } });
    const sent = Array.from({ length: 40 }, (_, n) => made.send('block', { n, pad: 'p'.repeat(50) }));
    let settledCount = 0;
    for (const promise of sent) void promise.finally(() => settledCount++);
    await settled(() => h.target.calls.length, 'the first requests arrived');
    expect(settledCount).toBe(0);
    expect(made.stats().bufferedBytes).toBeLessThanOrEqual(2048);
    held.open();
    await Promise.all(sent);
    expect(h.target.events).toHaveLength(40);

    const stuck = gate();
    h.target.hold = stuck.promise;
    const short = client({ buffer: { maxBytes: 2048, maxBlockMs: 50 }, batch: { lingerMs: 0 } });
    const promises = Array.from({ length: 40 }, (_, n) => short.send('block', { n, pad: 'p'.repeat(50) }));
    const all = Promise.allSettled(promises);
    const late = await Promise.allSettled(promises.slice(30));
    expect(late.every((result) => result.status === 'rejected' && result.reason instanceof BufferFullError)).toBe(true);
    stuck.open();
    await all;
  });
});

describe('retries and refusals', () => {
  it('tries again after a 503, no sooner than its Retry-After, and delivers', async () => {
    h.target.failure = new SpoolFullError(1);
    const tries: number[] = [];
    const accept = h.target.accept.bind(h.target);
    h.target.accept = (...args) => {
      tries.push(Date.now());
      return accept(...args);
    };
    try {
      const made = client({ batch: { lingerMs: 0 } });
      const delivery = made.send('busy', 1);
      await until(() => tries.length >= 1, 'the first try');
      h.target.failure = undefined;
      expect((await delivery).status).toBe('acked');
      // Both times are the server's: the answer left after the first, so the retry came at least 1 s after it.
      expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(1000);
      expect(made.stats().retries).toBe(1);
    } finally {
      h.target.accept = accept;
    }
  });

  it('halves a batch the server refuses with 400 until the refused event is alone; the others are delivered', async () => {
    const made = client({ batch: { lingerMs: 60_000 } });
    const poison = 'poison';
    const accept = h.target.accept.bind(h.target);
    h.target.accept = async (envelopes: Envelope[], ...rest) => {
      if (envelopes.some((event) => event.data.toString() === `"${poison}"`)) throw new RequestError(400, 'INVALID_ENVELOPE', 'this one is refused');
      return accept(envelopes, ...rest);
    };
    try {
      const sent = Array.from({ length: 100 }, (_, n) => made.send('split', n === 37 ? poison : n));
      await made.flush();
      const results = await Promise.allSettled(sent);
      const refused = results.flatMap((result, n) => (result.status === 'rejected' ? [[n, (result.reason as EventRefusedError).status]] : []));
      expect(refused).toEqual([[37, 400]]);
      expect(new Set(h.target.events.map((event) => event.data.toString())).size).toBe(99);
    } finally {
      h.target.accept = accept;
    }
  });

  it('rejects with EventRefusedError when a sink parked the events (502), and after deliveryTimeoutMs when nobody answers', async () => {
    h.target.failure = new SinkError('kafka', 'record too large', { retriable: false });
    const made = client({ batch: { lingerMs: 0 } });
    await expect(made.send('dead', 1)).rejects.toMatchObject({ code: 'EVENT_REFUSED', status: 502, serverCode: 'SINK_FAILED' });
    h.target.failure = undefined;

    const nobody = client({ urls: `http://127.0.0.1:${await freePort()}`, deliveryTimeoutMs: 300, healthIntervalMs: 50, batch: { lingerMs: 0 } });
    const error = await nobody.send('void', 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryTimeoutError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('refuses sends after close()', async () => {
    const made = client();
    await made.close();
    await expect(made.send('closed', 1)).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe('failover', () => {
  let second: Harness;
  beforeAll(async () => {
    second = await startServer();
  });
  afterAll(() => second.close());

  it('sends to both instances round-robin, and only to the one left when the other goes away', async () => {
    const gone = await startServer();
    const made = client({ urls: [gone.url, second.url], healthIntervalMs: 100, batch: { maxEvents: 10, lingerMs: 0 } });
    await Promise.all(Array.from({ length: 100 }, (_, n) => made.send('ha', n)));
    expect(gone.target.events.length).toBeGreaterThan(0);
    expect(second.target.events.length).toBeGreaterThan(0);
    await gone.close();
    second.target.reset();
    const after = await Promise.all(Array.from({ length: 100 }, (_, n) => made.send('ha', n)));
    expect(after.every((delivery) => delivery.status === 'acked' && delivery.instance === second.url)).toBe(true);
    expect(second.target.events).toHaveLength(100);
    expect(made.stats().instances.find((instance) => instance.url === gone.url)!.state).toBe('down');
  });

  it('least-loaded sends to the instance with fewer requests in flight', async () => {
    const slow = await startServer();
    const held = gate();
    slow.target.hold = held.promise;
    try {
      const made = client({ urls: [slow.url, second.url], balance: 'least-loaded', maxInFlight: 4, batch: { maxEvents: 1, lingerMs: 0 } });
      second.target.reset();
      const sent = Array.from({ length: 40 }, (_, n) => made.send('least', n));
      await until(() => second.target.events.length >= 30, 'the free instance took the rest');
      expect(slow.target.calls.length).toBeLessThanOrEqual(4);
      held.open();
      await Promise.all(sent);
    } finally {
      await slow.close();
    }
  });
});

describe('security', () => {
  it('speaks HTTPS with the CA it is given, and sends its token as Bearer (without it: refused, 401)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkngin-client-tls-'));
    const token = newToken();
    let secure: Harness | undefined;
    try {
      const ca = await makeTestCa(dir);
      const cert = await ca.issue('server');
      secure = await startServer({}, undefined, {}, {
        configure: (config) => {
          Object.assign(config.tls, { cert: cert.cert, key: cert.key });
          config.auth.tokens = [{ name: 'app', sha256: tokenSha256(token), topics: ['*'] }];
        },
      });
      expect(secure.url).toMatch(/^https:/);
      const trusted = client({ urls: secure.url, token, tls: { ca: ca.certPem } });
      expect((await trusted.send('secure', 1)).status).toBe('acked');
      expect(secure.target.events).toHaveLength(1);
      const anonymous = client({ urls: secure.url, tls: { ca: ca.certPem }, token: undefined });
      await expect(anonymous.send('secure', 2)).rejects.toMatchObject({ code: 'EVENT_REFUSED', status: 401 });
      expect(secure.target.events).toHaveLength(1);
    } finally {
      await secure?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('security over http://', () => {
  it('sends its token as Bearer, else the credentials of its URL as Basic; without either: refused, 401', async () => {
    const token = newToken();
    const guarded = await startServer({}, undefined, {}, {
      configure: (config) => {
        config.auth.tokens = [{ name: 'app', sha256: tokenSha256(token), topics: ['*'] }];
      },
    });
    try {
      expect(guarded.url).toMatch(/^http:/);
      expect((await client({ urls: guarded.url, token }).send('guarded', 1)).status).toBe('acked');
      const withCredentials = guarded.url.replace('http://', `http://app:${encodeURIComponent(token)}@`);
      expect((await client({ urls: withCredentials, token: undefined }).send('guarded', 2)).status).toBe('acked');
      await expect(client({ urls: guarded.url, token: undefined }).send('guarded', 3)).rejects.toMatchObject({ code: 'EVENT_REFUSED', status: 401 });
      expect(guarded.target.events.map((event) => Buffer.from(event.data as Uint8Array).toString())).toEqual(['1', '2']);
    } finally {
      await guarded.close();
    }
  });
});

describe('the disk spill', () => {
  it('spills while no instance answers, keeps the dir to one client, and delivers the spill with the same ids on the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkngin-spill-'));
    try {
      const down = `http://127.0.0.1:${await freePort()}`;
      const first = createClient({ urls: down, spill: { dir }, healthIntervalMs: 50, batch: { lingerMs: 0 } });
      const deliveries = await Promise.all([
        ...Array.from({ length: 500 }, (_, n) => first.send('spilled', n, { key: `k${n % 3}` })),
        first.sendRaw('spilled-sink', 'kept for ack=sink', { type: 'text', ack: 'sink' }),
      ]);
      expect(deliveries.every((delivery) => delivery.status === 'spilled')).toBe(true);
      expect(await first.spillBacklog()).toEqual({ spool: 500, sink: 1 });
      const rival = createClient({ urls: down, spill: { dir } });
      await expect(rival.ready()).rejects.toMatchObject({ code: 'DATA_DIR_IN_USE' });
      await rival.close();
      await first.close();

      const second = createClient({ urls: h.url, spill: { dir } });
      await until(async () => h.target.events.length === 501 && (await second.spillBacklog()).spool === 0, 'the spill is delivered', 30_000);
      expect(h.target.events.map((event) => event.id).sort()).toEqual(deliveries.map((delivery) => delivery.id).sort());
      const sinkCall = h.target.calls.find((call) => call.envelopes[0]!.topic === 'spilled-sink')!;
      expect(sinkCall.ack).toBe('sink');
      expect(h.target.events.filter((event) => event.key === 'k1')).toHaveLength(167);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
