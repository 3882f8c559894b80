// ZeroMQ ingest (src/ingest/zmq/) with real ZeroMQ peers (the zeromq package) against the daemon
// process, delivering to a real Kafka and to the file sink: PUSH into PULL and DEALER/REQ into ROUTER
// with answers, both framings, bad messages answered and counted (never a crash), the bounds, CURVE
// (keys made by `sparkngin zmq-keys`'s code, checked by libzmq), and a SIGKILL of the daemon in the
// middle of a pipelined ROUTER stream after which every event it answered 202 for is in Kafka.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curveKeyPair } from '../../src/cli/zmq-keys';
import { encodeEnvelope } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes } from '../../src/envelope/nw1';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePorts } from '../peers/ports';
import { until } from '../wait';
import { type DaemonProcess, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
beforeAll(async () => {
  kafka = await startKafka({ partitions: 3 });
});
afterAll(async () => {
  await kafka?.close();
});

interface ZmqDaemon {
  daemon: DaemonProcess;
  pull: string;
  router: string;
}

/** A daemon with both sockets on free loopback ports, delivering to the file sink and (unless told not to) Kafka. */
async function zmqDaemon(zmqConfig: Record<string, unknown> = {}, withKafka = true, dataDir?: string): Promise<ZmqDaemon> {
  const [pullPort, routerPort] = await freePorts(2);
  const pull = `tcp://127.0.0.1:${pullPort}`;
  const router = `tcp://127.0.0.1:${routerPort}`;
  const sinks = withKafka ? { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } } : {};
  const daemon = await startDaemon({ ...(dataDir ? { dataDir } : {}), config: { zmq: { pull, router, ...zmqConfig }, sinks } });
  return { daemon, pull, router };
}

async function fileLines(daemon: DaemonProcess, topic: string): Promise<Array<{ id: string; key?: string; type: string; data: unknown; topic: string }>> {
  const text = await readFile(join(daemon.dataDir, 'out', `${topic}.ndjson`), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

interface SocketStats {
  socket: string;
  receivedMessages: number;
  storedEvents: number;
  retries: number;
  unanswered: number;
  refused: Array<{ status: number; code: string; count: number }>;
}

/** /stats ingest.zmq, per socket (its refusals with it), and the CURVE counts. */
async function stats(daemon: DaemonProcess): Promise<{ pull: SocketStats; router: SocketStats; curve: { allowed: number; denied: number } }> {
  const zmqStats = ((await (await fetch(`${daemon.url}/stats`)).json()) as any).ingest.zmq;
  const of = (socket: string) => ({
    ...zmqStats.sockets.find((entry: SocketStats) => entry.socket === socket),
    refused: zmqStats.refused.filter((entry: { socket: string }) => entry.socket === socket).map(({ socket: _, ...refusal }: { socket: string }) => refusal),
  });
  return { pull: of('pull'), router: of('router'), curve: zmqStats.curve };
}

/** A DEALER that sends messages and reads answers in order (the ROUTER answers each peer in order). */
function dealer(endpoint: string, options: ConstructorParameters<typeof zmq.Dealer>[0] = {}): zmq.Dealer {
  const socket = new zmq.Dealer({ linger: 0, ...options });
  socket.connect(endpoint);
  return socket;
}

async function ask(socket: zmq.Dealer | zmq.Request, frames: Array<string | Buffer>): Promise<any> {
  await socket.send(frames);
  const reply = await socket.receive();
  return JSON.parse(reply.at(-1)!.toString());
}

describe('ZeroMQ ingest, raw framing', () => {
  let z: ZmqDaemon;
  beforeAll(async () => {
    z = await zmqDaemon({ maxMessageBytes: 64 * 1024, maxBufferedBytes: 1024 * 1024 });
  });
  afterAll(() => z?.daemon.close());

  it('PUSH into PULL: every payload frame is an event of the head frame topic, in Kafka and in the file sink', async () => {
    const push = new zmq.Push({ linger: 1000 });
    push.connect(z.pull);
    const messages = 500;
    for (let m = 0; m < messages; m++) await push.send([`zmq-pull?key=k${m % 7}&type=json`, `{"m":${m},"f":0}`, `{"m":${m},"f":1}`]);
    push.close();
    const inKafka = await consumeAll(kafka.brokers, 'zmq-pull', { expected: messages * 2, timeoutMs: 60_000 });
    expect(inKafka).toHaveLength(messages * 2);
    const sent = Array.from({ length: messages }, (_, m) => [0, 1].map((f) => `k${m % 7} {"m":${m},"f":${f}}`)).flat();
    expect(inKafka.map((r) => `${r.key} ${r.value.toString()}`).sort()).toEqual(sent.sort());
    expect(inKafka.every((r) => r.headers['sparkngin-type'] === 'json')).toBe(true);
    await until(async () => (await fileLines(z.daemon, 'zmq-pull')).length === messages * 2, 'the file sink has every event');
    const s = await stats(z.daemon);
    expect(s.pull).toMatchObject({ receivedMessages: messages, storedEvents: messages * 2, refused: [] });
  });

  it('DEALER into ROUTER, pipelined: each message answered 202 with its ids, in order; the ids are the events in Kafka', async () => {
    const socket = dealer(z.router);
    const count = 300;
    for (let m = 0; m < count; m++) await socket.send([`zmq-router`, `event ${m} a`, `event ${m} b`]);
    const ids: string[] = [];
    for (let m = 0; m < count; m++) {
      const [reply] = await socket.receive();
      const answer = JSON.parse(reply!.toString());
      expect(answer).toMatchObject({ status: 202, accepted: 2 });
      ids.push(...answer.ids);
    }
    socket.close();
    const inKafka = await consumeAll(kafka.brokers, 'zmq-router', { expected: count * 2, timeoutMs: 60_000 });
    const byId = new Map(inKafka.map((r) => [r.headers['sparkngin-id'], r.value.toString()]));
    // Answers came in the order the messages went: the n-th answer's ids are the n-th message's events.
    expect(ids.map((id) => byId.get(id))).toEqual(Array.from({ length: count }, (_, m) => [`event ${m} a`, `event ${m} b`]).flat());
    expect((await fileLines(z.daemon, 'zmq-router')).length).toBeGreaterThan(0);
  });

  it('REQ with ack=sink is answered once Kafka has the event', async () => {
    const req = new zmq.Request({ linger: 0 });
    req.connect(z.router);
    const answer = await ask(req, ['zmq-acked?ack=sink&key=user-1', 'waited for']);
    req.close();
    expect(answer).toMatchObject({ status: 202, accepted: 1 });
    const inKafka = await consumeAll(kafka.brokers, 'zmq-acked', { timeoutMs: 10_000 });
    expect(inKafka.map((r) => [r.key, r.value.toString(), r.headers['sparkngin-id']])).toEqual([['user-1', 'waited for', answer.ids[0]]]);
  });

  it('answers a pipelining DEALER in the order it sent, even when a refusal is known before an earlier message is stored', async () => {
    const socket = dealer(z.router);
    // The first waits for Kafka (ack=sink); the second is refused as soon as it is read.
    await socket.send(['zmq-order?ack=sink', 'stored first']);
    await socket.send(['zmq-order?type=xml', 'refused at once']);
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push(JSON.parse((await socket.receive())[0]!.toString()));
    socket.close();
    expect(answers).toMatchObject([{ status: 202, accepted: 1 }, { status: 400, error: { code: 'INVALID_TYPE' } }]);
  });

  it('answers bad messages with the error on ROUTER, drops and counts them on PULL, and goes on', async () => {
    const socket = dealer(z.router);
    const cases: Array<[Array<string | Buffer>, number, string]> = [
      [['bad topic!', 'x'], 400, 'INVALID_TOPIC'],
      [['zmq-bad'], 400, 'EMPTY_MESSAGE'],
      [['zmq-bad', ''], 400, 'EMPTY_FRAME'],
      [['zmq-bad?type=json', '{"a":1}', 'not json'], 400, 'INVALID_PAYLOAD'],
      [['zmq-bad?type=text', Buffer.from([0xff, 0xfe])], 400, 'INVALID_PAYLOAD'],
      [['zmq-bad?ack=later', 'x'], 400, 'INVALID_ACK'],
      [['zmq-bad?sts=yesterday', 'x'], 400, 'INVALID_TIME'],
      [[Buffer.from([0xc3, 0x28]), 'x'], 400, 'INVALID_UTF8'],
      [['zmq-bad', Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)], 413, 'MESSAGE_TOO_LARGE'],
    ];
    for (const [frames, status, code] of cases) expect(await ask(socket, frames)).toMatchObject({ status, error: { code } });
    // A good message after them is taken as usual.
    expect(await ask(socket, ['zmq-bad', 'fine'])).toMatchObject({ status: 202, accepted: 1 });
    socket.close();

    const push = new zmq.Push({ linger: 1000 });
    push.connect(z.pull);
    await push.send(['bad topic!', 'x']);
    await push.send(['zmq-bad?type=json', 'nope']);
    await push.send(['zmq-bad', 'kept']);
    push.close();
    await until(async () => (await fileLines(z.daemon, 'zmq-bad')).length === 2, 'the good events are stored');
    const s = await stats(z.daemon);
    const expected = new Map<string, { status: number; code: string; count: number }>();
    for (const [, status, code] of cases) expected.set(code, { status, code, count: (expected.get(code)?.count ?? 0) + 1 });
    expect(s.router.refused).toEqual(expect.arrayContaining([...expected.values()]));
    expect(s.pull.refused).toEqual(expect.arrayContaining([{ status: 400, code: 'INVALID_TOPIC', count: 1 }, { status: 400, code: 'INVALID_PAYLOAD', count: 1 }]));
    const metrics = await (await fetch(`${z.daemon.url}/metrics`)).text();
    expect(metrics).toContain('sparkngin_zmq_refused_messages_total{socket="router",status="413",code="MESSAGE_TOO_LARGE"} 1');
    expect(metrics).toContain('sparkngin_zmq_refused_messages_total{socket="pull",status="400",code="INVALID_TOPIC"} 1');
  });

  it('a frame over zmq.maxMessageBytes (ZMQ_MAXMSGSIZE) costs its sender the connection, not the daemon', async () => {
    const big = dealer(z.router);
    await big.send(['zmq-big', Buffer.alloc(100 * 1024)]);
    const next = dealer(z.router);
    expect(await ask(next, ['zmq-big', 'small'])).toMatchObject({ status: 202 });
    big.close();
    next.close();
    await until(async () => (await fileLines(z.daemon, 'zmq-big')).length === 1, 'the small event is in the file sink');
    expect((await fileLines(z.daemon, 'zmq-big')).map((line) => line.data)).toEqual([Buffer.from('small').toString('base64')]);
  });
});

describe('ZeroMQ ingest, nw1 framing', () => {
  let z: ZmqDaemon;
  beforeAll(async () => {
    z = await zmqDaemon({ framing: 'nw1' }, false);
  });
  afterAll(() => z?.daemon.close());

  const event = (fields: Partial<Envelope>): Envelope => ({ id: newEventId(), topic: 'nw1-a', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json', data: Buffer.from('{"n":1}'), ...fields });

  it('takes NW1 bodies, each envelope with its own topic, id, key, time and headers; answers with the clients ids', async () => {
    const headers = Object.assign(newHeaders(), { trace: 't-9' });
    const first = [event({ key: 'k1', sts: 1_700_000_000_000, headers }), event({ topic: 'nw1-b', type: 'text', data: Buffer.from('ligne ü') })];
    const second = [event({ type: 'binary', data: Buffer.from([0, 1, 255]) })];
    const socket = dealer(z.router);
    const answer = await ask(socket, ['?ack=sink', frameEnvelopes(first.map(encodeEnvelope)), frameEnvelopes(second.map(encodeEnvelope))]);
    expect(answer).toEqual({ status: 202, accepted: 3, ids: [...first, ...second].map((e) => e.id) });
    const a = await fileLines(z.daemon, 'nw1-a');
    expect(a.map((line) => [line.id, line.key, line.type])).toEqual([
      [first[0]!.id, 'k1', 'json'],
      [second[0]!.id, undefined, 'binary'],
    ]);
    expect(a[0]).toMatchObject({ sts: 1_700_000_000_000, headers: { trace: 't-9' }, data: { n: 1 } });
    expect((await fileLines(z.daemon, 'nw1-b')).map((line) => line.data)).toEqual(['ligne ü']);

    const bad = await ask(socket, [frameEnvelopes([encodeEnvelope(event({ ts: 5 }))])]);
    expect(bad).toMatchObject({ status: 400, error: { code: 'INVALID_ENVELOPE' } });
    expect(await ask(socket, [Buffer.from('not an NW1 body')])).toMatchObject({ status: 400, error: { code: 'INVALID_ENVELOPE' } });
    expect(await ask(socket, ['?key=k', frameEnvelopes([encodeEnvelope(event({}))])])).toMatchObject({ status: 400, error: { code: 'INVALID_QUERY' } });
    socket.close();
  });
});

describe('ZeroMQ ingest with CURVE', () => {
  const server = curveKeyPair();
  const allowed = curveKeyPair();
  const other = curveKeyPair();
  let z: ZmqDaemon;
  beforeAll(async () => {
    z = await zmqDaemon({ curveSecretKey: server.secretKey, curveClients: [allowed.publicKey] }, false);
  });
  afterAll(() => z?.daemon.close());

  it('answers a client with a listed key; a client with another key, or without CURVE, gets nothing in', async () => {
    const listed = dealer(z.router, { curveServerKey: server.publicKey, curvePublicKey: allowed.publicKey, curveSecretKey: allowed.secretKey });
    expect(await ask(listed, ['curved', 'secret event'])).toMatchObject({ status: 202, accepted: 1 });
    listed.close();

    // immediate: a message is only queued for a connection that completed its handshake.
    const stranger = dealer(z.router, { curveServerKey: server.publicKey, curvePublicKey: other.publicKey, curveSecretKey: other.secretKey, sendTimeout: 0, immediate: true });
    const plain = new zmq.Push({ linger: 0, sendTimeout: 0, immediate: true });
    plain.connect(z.pull);
    await until(async () => (await stats(z.daemon)).curve.denied >= 1, 'the unlisted key is turned away');
    // Neither can hand over a message: no connection was ever established for them.
    await expect(stranger.send(['curved', 'from a stranger'])).rejects.toMatchObject({ code: 'EAGAIN' });
    await expect(plain.send(['curved', 'in clear'])).rejects.toMatchObject({ code: 'EAGAIN' });
    stranger.close();
    plain.close();
    await until(async () => (await fileLines(z.daemon, 'curved')).length > 0, 'the listed client event is in the file sink');
    expect((await fileLines(z.daemon, 'curved')).map((line) => line.data)).toEqual([Buffer.from('secret event').toString('base64')]);
    expect((await stats(z.daemon)).curve.allowed).toBe(1);
  });
});

describe('PULL while the spool is full', () => {
  it('keeps the message it could not store and tries again, reads nothing more meanwhile (PUSH blocks), and loses nothing', async () => {
    // Kafka away and a spool of two small segments (2 MiB): it is full after about 500 events of 4 KB.
    const [port] = await freePorts(1);
    const pull = `tcp://127.0.0.1:${port}`;
    await kafka.stop();
    let kafkaUp = false;
    const daemon = await startDaemon({
      config: {
        zmq: { pull, receiveHighWaterMark: 100 },
        spool: { segmentBytes: 1024 * 1024, maxBytes: 2 * 1024 * 1024 },
        sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } },
      },
    });
    try {
      const push = new zmq.Push({ linger: 5000, sendHighWaterMark: 10 });
      push.connect(pull);
      // 20 MB in all: more than the high-water marks and the kernel's socket buffers can hold.
      const total = 5_000;
      const pad = 'x'.repeat(4000);
      let sent = 0;
      const sending = (async () => {
        for (; sent < total; sent++) await push.send(['zmq-full', `event ${sent} ${pad}`]);
      })();
      await until(async () => (await stats(daemon)).pull.retries > 0, 'the spool is full and PULL tries again');
      // Backpressure: the producer is held back, far from done.
      expect(sent).toBeLessThan(total);
      await kafka.restart();
      kafkaUp = true;
      await sending;
      push.close();
      const inKafka = await consumeAll(kafka.brokers, 'zmq-full', { expected: total, timeoutMs: 120_000 });
      expect(new Set(inKafka.map((r) => r.value.toString().split(' ')[1])).size).toBe(total);
      expect((await stats(daemon)).pull.refused).toEqual([]);
    } finally {
      await daemon.close();
      if (!kafkaUp) await kafka.restart();
    }
  }, 240_000);
});

describe('kill -9 while a ROUTER stream is answered', () => {
  it('loses nothing the ROUTER answered 202 for: after a restart every acknowledged event is in Kafka', async () => {
    const z = await zmqDaemon({}, true);
    const acked: string[] = [];
    let stop = false;
    // A producer with up to 50 messages of 10 events in flight, recording every id answered 202.
    const produce = async () => {
      const socket = dealer(z.router, { receiveTimeout: 5000 });
      let sent = 0;
      let answered = 0;
      try {
        while (!stop) {
          while (sent - answered < 50 && !stop) {
            await socket.send(['zmq-kill', ...Array.from({ length: 10 }, (_, i) => `m${sent} e${i}`)]);
            sent++;
          }
          const [reply] = await socket.receive();
          answered++;
          const answer = JSON.parse(reply!.toString());
          if (answer.status === 202) acked.push(...answer.ids);
        }
      } catch {
        // The daemon died: the answers still owed never come.
      } finally {
        socket.close();
      }
    };
    const producing = produce();
    await until(() => acked.length >= 20_000, '20 000 events are acknowledged', 120_000);
    await z.daemon.kill();
    stop = true;
    await producing;
    const acknowledged = new Set(acked);
    await z.daemon.restart();
    try {
      // Everything the spool holds delivered (redelivered records make counts useless: at least once).
      await until(async () => {
        const stats = (await (await fetch(`${z.daemon.url}/stats`)).json()) as any;
        if (!Array.isArray(stats.sinks)) throw new Error(`unexpected /stats: ${JSON.stringify(stats).slice(0, 500)}\n${z.daemon.logs().slice(-3000)}`);
        return (stats.sinks as Array<{ sink: string; lagRecords: number }>).find((sink) => sink.sink === 'kafka')?.lagRecords === 0;
      }, 'the Kafka sink caught up after the restart', 120_000);
      const inKafka = await consumeAll(kafka.brokers, 'zmq-kill', { timeoutMs: 120_000 });
      const delivered = new Set(inKafka.map((r) => r.headers['sparkngin-id']));
      const missing = [...acknowledged].filter((id) => !delivered.has(id));
      expect(missing).toEqual([]);
    } finally {
      await z.daemon.close();
    }
  });
});
