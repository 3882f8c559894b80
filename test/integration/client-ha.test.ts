// The HA logger, end to end with real processes: two daemons delivering to a real Kafka broker, the
// client library streaming to both, and an independent consumer (test/peers/consume.ts) reading
// back what Kafka holds by event id (Kafka header `sparkngin-id`, the id the client made):
// - one instance SIGKILLed mid-stream (ack=spool): the client fails over; once the killed instance
//   is restarted (its spool delivers what it acknowledged) every event the client resolved is in
//   Kafka, and the client goes back to it;
// - ack=sink, one instance SIGKILLed and its data dir deleted mid-stream: every resolved event is
//   in Kafka already, nothing needed from the lost disk;
// - both instances down for 20 s: an in-process client spills and then delivers everything; a client
//   process SIGKILLed while spilling loses nothing it resolved: restarted, it delivers its spill;
// - `sparkngin drain --kafka` of a copied spool delivers exactly what was undelivered; twice is harmless.
// Duplicates (an event sent again after a failure) are counted and printed, never a failure.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Delivery } from '../../src/client/index';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

const CHILD = fileURLToPath(new URL('./client-process.mjs', import.meta.url));
const EVENTS = 20_000;

let kafka: KafkaPeer;
const daemons: DaemonProcess[] = [];
const temps: string[] = [];

beforeAll(async () => {
  kafka = await startKafka({ partitions: 3 });
});
afterAll(async () => {
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
  await kafka?.close();
});

async function instance(dataDir?: string, brokers = kafka.brokers): Promise<DaemonProcess> {
  const daemon = await startDaemon({
    ...(dataDir === undefined ? {} : { dataDir }),
    config: { sinks: { file: { enabled: false }, kafka: { brokers: [brokers], retry: { initialMs: 100, maxMs: 1000 } } } },
  });
  daemons.push(daemon);
  return daemon;
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Sends `count` events ({"n": i}) 500 at a time (each chunk awaited: a stream, not one burst), calling `progress` after each chunk. */
async function stream(send: (n: number) => Promise<Delivery>, count: number, progress: (resolved: number) => Promise<void> | void): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  for (let start = 0; start < count; start += 500) {
    const chunk = Array.from({ length: Math.min(500, count - start) }, (_, i) => send(start + i));
    deliveries.push(...(await Promise.all(chunk)));
    await progress(deliveries.length);
  }
  return deliveries;
}

/** Reads the topic back; every id in `resolved` must be there. Returns how many extra copies Kafka holds. */
async function expectAllInKafka(topic: string, resolved: readonly string[], what: string): Promise<number> {
  const messages = await consumeAll(kafka.brokers, topic, { expected: resolved.length, timeoutMs: 120_000 });
  const ids = messages.map((message) => message.headers['sparkngin-id']!);
  const inKafka = new Set(ids);
  const missing = resolved.filter((id) => !inKafka.has(id));
  expect(missing, `${what}: resolved events missing from Kafka`).toEqual([]);
  const duplicates = ids.length - inKafka.size;
  console.log(`${what}: ${resolved.length} resolved, ${ids.length} records in Kafka, ${duplicates} duplicates`);
  return duplicates;
}

describe('HA logger with a real Kafka', () => {
  it('fails over when an instance is SIGKILLed mid-stream (ack=spool), and goes back to it once restarted', async () => {
    const [a, b] = [await instance(), await instance()];
    const client = createClient({ urls: [a.url, b.url], healthIntervalMs: 200, batch: { maxEvents: 100, lingerMs: 2 } });
    let killed = false;
    const deliveries = await stream(
      (n) => client.send('ha-spool', { n }),
      EVENTS,
      async (resolved) => {
        if (!killed && resolved >= EVENTS / 4) {
          killed = true;
          await a.kill();
        }
      },
    );
    expect(deliveries.every((delivery) => delivery.status === 'acked')).toBe(true);
    const stats = client.stats();
    expect(stats.instances.map((instance) => instance.state)).toEqual(['down', 'up']);
    expect(stats.retries).toBeGreaterThan(0);

    // The process is back (its host was fine): it delivers what it acknowledged, and the client uses it again.
    await a.restart();
    await until(() => client.stats().instances[0]!.state === 'up', 'the client sees the instance up again', 30_000);
    const ackedByA = client.stats().instances[0]!.acked;
    const after = await stream((n) => client.send('ha-spool', { n: EVENTS + n }), 2000, () => undefined);
    expect(client.stats().instances[0]!.acked).toBeGreaterThan(ackedByA);
    await client.close();
    await expectAllInKafka('ha-spool', [...deliveries, ...after].map((delivery) => delivery.id), 'SIGKILL, ack=spool');
  });

  it('with ack=sink, loses nothing resolved when an instance is SIGKILLed and its data dir deleted mid-stream', async () => {
    const [a, b] = [await instance(), await instance()];
    const client = createClient({ urls: [a.url, b.url], ack: 'sink', healthIntervalMs: 200, batch: { maxEvents: 100, lingerMs: 2 } });
    let lost = false;
    const deliveries = await stream(
      (n) => client.send('ha-sink', { n }),
      EVENTS,
      async (resolved) => {
        if (!lost && resolved >= EVENTS / 4) {
          lost = true;
          await a.kill();
          await rm(a.dataDir, { recursive: true, force: true });
        }
      },
    );
    expect(deliveries.every((delivery) => delivery.status === 'acked')).toBe(true);
    expect(client.stats().instances[0]!.state).toBe('down');
    await client.close();
    await expectAllInKafka('ha-sink', deliveries.map((delivery) => delivery.id), 'SIGKILL + data dir deleted, ack=sink');
  });

  it('spills while every instance is down for 20 s and delivers it all after; a client SIGKILLed while spilling delivers its spill when restarted', async () => {
    const [a, b] = [await instance(), await instance()];
    const [spillDir, childSpill] = [await tempDir('sparkngin-spill-'), await tempDir('sparkngin-spill-child-')];
    const client = createClient({ urls: [a.url, b.url], spill: { dir: spillDir }, healthIntervalMs: 200, batch: { maxEvents: 200, lingerMs: 2 } });
    // More than it can send before it is killed: it is still sending (spilling) when the SIGKILL comes.
    const child = runClient({ urls: [a.url, b.url], spillDir: childSpill, topic: 'ha-spill-child', count: 10 * EVENTS, ack: 'spool' });

    let downAt = 0;
    const deliveries = await stream(
      (n) => client.send('ha-spill', { n }),
      EVENTS,
      async (resolved) => {
        if (downAt === 0 && resolved >= EVENTS / 8) {
          await until(() => child.lines().length >= EVENTS / 8, 'the client process has sent some', 60_000);
          downAt = Date.now();
          await Promise.all([a.kill(), b.kill()]);
        }
      },
    );
    const spilled = deliveries.filter((delivery) => delivery.status === 'spilled').length;
    expect(spilled).toBeGreaterThan(0);
    expect(spilled + deliveries.filter((delivery) => delivery.status === 'acked').length).toBe(EVENTS);

    // The client process is killed while it spills: what it resolved is on its disk.
    const spilledBefore = child.lines().filter((line) => line.startsWith('spilled')).length;
    await until(() => child.lines().filter((line) => line.startsWith('spilled')).length >= spilledBefore + 1000, 'the client process spills', 60_000);
    expect(child.process.exitCode, 'the client process is still running').toBeNull();
    child.process.kill('SIGKILL');
    await child.exited;
    const childResolved = child.lines().filter((line) => /^(acked|spilled) /.test(line)).map((line) => line.split(' ')[1]!);
    expect(child.lines().filter((line) => line.startsWith('failed'))).toEqual([]);

    const downFor = 20_000 - (Date.now() - downAt);
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
    await Promise.all([a.restart(), b.restart()]);
    await until(async () => (await client.spillBacklog()).spool === 0, 'the spill is delivered', 120_000);
    await client.close();
    const restarted = runClient({ urls: [a.url, b.url], spillDir: childSpill, topic: 'ha-spill-child', count: 0, ack: 'spool' });
    expect(await restarted.exited).toBe(0);
    expect(restarted.lines()).toContain('drained');

    await expectAllInKafka('ha-spill', deliveries.map((delivery) => delivery.id), 'all down 20 s, spilled');
    await expectAllInKafka('ha-spill-child', childResolved, 'all down, client process SIGKILLed while spilling');
  }, 300_000);

  it('drain --kafka of a copied spool delivers exactly what was undelivered, and twice is harmless', async () => {
    const deadBroker = `127.0.0.1:${await freePort()}`;
    const dataDir = await tempDir('sparkngin-drained-');
    // Delivered: the first 1000 reach Kafka while the broker is there.
    let daemon = await instance(dataDir);
    const client = createClient({ urls: daemon.url });
    const delivered = await Promise.all(Array.from({ length: 1000 }, (_, n) => client.send('drained', { n })));
    await client.close();
    await until(async () => ((await (await fetch(`${daemon.url}/stats`)).json()) as any).sinks[0].lagRecords === 0, 'the first events are in Kafka', 60_000);
    await daemon.stop();
    // Undelivered: the next 1500 only reach the spool (the sink points at a broker that is gone), then the host dies.
    daemon = await instance(dataDir, deadBroker);
    const stranded = createClient({ urls: daemon.url });
    const undelivered = await Promise.all(Array.from({ length: 1500 }, (_, n) => stranded.send('drained', { n: 1000 + n })));
    await stranded.close();
    const copy = await tempDir('sparkngin-copy-');
    await daemon.kill();
    await cp(dataDir, copy, { recursive: true });

    const first = await drainCli(['--spool', copy, '--kafka', kafka.brokers]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('1500 events delivered');
    const again = await drainCli(['--spool', copy, '--kafka', kafka.brokers]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/drain: 0 events delivered/);

    const messages = await consumeAll(kafka.brokers, 'drained', { expected: 2500, timeoutMs: 60_000 });
    const copies = new Map<string, number>();
    for (const message of messages) copies.set(message.headers['sparkngin-id']!, (copies.get(message.headers['sparkngin-id']!) ?? 0) + 1);
    expect([...copies.keys()].sort()).toEqual([...delivered, ...undelivered].map((delivery) => delivery.id).sort());
    // What the drain sent, it sent once, both runs together. (The first 1000 came from the daemon's own
    // Kafka sink, at least once: a retried produce under load can write a batch twice.)
    expect(undelivered.filter((delivery) => copies.get(delivery.id) !== 1)).toEqual([]);
    console.log(`drain: 2500 sent, ${messages.length} records in Kafka, ${messages.length - copies.size} duplicates (from the daemon's own delivery)`);
  });
});

interface RunningClient {
  process: ChildProcess;
  lines(): string[];
  exited: Promise<number | null>;
}

function runClient(options: { urls: string[]; spillDir: string; topic: string; count: number; ack: 'spool' | 'sink' }): RunningClient {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then((code) => {
    if (code !== 0 && code !== null) console.error(`client process exited ${code}: ${err}`);
  });
  return { process: child, lines: () => out.split('\n').filter(Boolean), exited };
}

function drainCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BUNDLE, 'drain', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}
