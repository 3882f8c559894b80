// The client library over ZeroMQ (src/client/transport-zmq.ts) against real daemon processes with
// ZeroMQ ingest on (a ROUTER, zmq.framing nw1), delivering to the file sink:
// - events sent with ack=spool and ack=sink are each acknowledged and each in the file sink, by id;
// - a topic the daemon does not take rejects its promise with the daemon's code, the others pass;
// - the daemon SIGKILLed and restarted mid-stream: the client reconnects and every event it resolved
//   is in the file sink once the daemon is back (sent again with the same ids: duplicates counted);
// - two instances, one SIGKILLed mid-stream: the client fails over to the other;
// - `sparkngin send --url tcp://…` sends a file and exits 0;
// - CURVE: a client with a listed key pair gets in, one with another key does not.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type Delivery, DeliveryTimeoutError, EventRefusedError } from '../../src/client/index';
import { curveKeyPair } from '../../src/cli/zmq-keys';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

const daemons: DaemonProcess[] = [];
afterAll(() => Promise.all(daemons.map((daemon) => daemon.close())));

/** A daemon whose ROUTER takes NW1 on a free loopback port: its tcp:// URL beside it. */
async function zmqDaemon(config: Record<string, unknown> = {}): Promise<{ daemon: DaemonProcess; router: string }> {
  const router = `tcp://127.0.0.1:${await freePort()}`;
  const { zmq, ...rest } = config as { zmq?: Record<string, unknown> };
  const daemon = await startDaemon({ config: { zmq: { router, framing: 'nw1', ...zmq }, ...rest } });
  daemons.push(daemon);
  return { daemon, router };
}

/** Event ids in the daemon's file sink for `topic` (every line, duplicates included). */
async function filedIds(daemon: DaemonProcess, topic: string): Promise<string[]> {
  const text = await readFile(join(daemon.dataDir, 'out', `${topic}.ndjson`), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id: string }).id);
}

async function untilFiled(daemon: DaemonProcess, topic: string, ids: Iterable<string>, timeoutMs = 120_000): Promise<string[]> {
  const wanted = [...ids];
  let filed: string[] = [];
  await until(async () => {
    filed = await filedIds(daemon, topic);
    const have = new Set(filed);
    return wanted.every((id) => have.has(id));
  }, `the file sink of ${topic} holds all ${wanted.length} events`, timeoutMs);
  return filed;
}

describe('the client over ZeroMQ', () => {
  it('sends events with ack=spool and ack=sink through a ROUTER; each is acknowledged and in the file sink', async () => {
    const { daemon, router } = await zmqDaemon();
    const client = createClient({ urls: router, maxInFlight: 4, batch: { maxEvents: 100 } });
    try {
      const spool = await Promise.all(Array.from({ length: 3000 }, (_, n) => client.send('zmq-client-spool', { n }, { key: `k${n % 5}` })));
      const sink = await Promise.all(Array.from({ length: 1000 }, (_, n) => client.send('zmq-client-sink', { n }, { ack: 'sink' })));
      for (const delivery of [...spool, ...sink]) expect(delivery).toMatchObject({ status: 'acked', instance: router, attempts: 1 });
      // ack=sink: in the file sink by the time it is acknowledged.
      const filedSink = await filedIds(daemon, 'zmq-client-sink');
      expect(new Set(filedSink)).toEqual(new Set(sink.map((d) => d.id)));
      const filedSpool = await untilFiled(daemon, 'zmq-client-spool', spool.map((d) => d.id));
      expect(filedSpool).toHaveLength(3000);
      const lines = (await readFile(join(daemon.dataDir, 'out', 'zmq-client-spool.ndjson'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      expect(lines.find((line) => line.id === spool[7]!.id)).toMatchObject({ key: 'k2', type: 'json', data: { n: 7 } });
      expect(client.stats().instances).toMatchObject([{ url: router, state: 'up', acked: 4000, failures: 0 }]);
      const zmqStats = ((await (await fetch(`${daemon.url}/stats`)).json()) as any).ingest.zmq;
      expect(zmqStats.sockets.find((s: { socket: string }) => s.socket === 'router')).toMatchObject({ storedEvents: 4000, unanswered: 0 });
    } finally {
      await client.close();
    }
  });

  it("rejects an event the daemon refuses with the daemon's code; events of other topics are acknowledged", async () => {
    const { router } = await zmqDaemon({ http: { topics: ['zmq-ok*'] } });
    const client = createClient({ urls: router });
    try {
      const [ok, refused] = await Promise.allSettled([client.send('zmq-ok', { a: 1 }), client.send('zmq-forbidden', { a: 2 })]);
      expect(ok).toMatchObject({ status: 'fulfilled', value: { status: 'acked' } });
      expect(refused.status).toBe('rejected');
      const error = (refused as PromiseRejectedResult).reason as EventRefusedError;
      expect(error).toBeInstanceOf(EventRefusedError);
      expect(error).toMatchObject({ code: 'EVENT_REFUSED', status: 403, serverCode: 'TOPIC_NOT_ALLOWED', instance: router });
    } finally {
      await client.close();
    }
  });

  it('the daemon SIGKILLed and restarted mid-stream: the client reconnects and every event it resolved is delivered', async () => {
    const { daemon, router } = await zmqDaemon();
    const client = createClient({ urls: router, requestTimeoutMs: 5000, deliveryTimeoutMs: 0, healthIntervalMs: 100, batch: { maxEvents: 50 } });
    const resolved: Delivery[] = [];
    const total = 10_000;
    let killed = false;
    try {
      for (let start = 0; start < total; start += 500) {
        const chunk = Array.from({ length: 500 }, (_, i) => client.send('zmq-client-kill', { n: start + i }).then((d) => (resolved.push(d), d)));
        if (!killed && start >= 3000) {
          // Mid-stream: this chunk's requests are on their way when the daemon dies.
          killed = true;
          await new Promise((resolve) => setTimeout(resolve, 5));
          await daemon.kill();
          setTimeout(() => void daemon.restart(), 1000);
        }
        await Promise.all(chunk);
      }
      expect(resolved).toHaveLength(total);
      expect(client.stats().retries).toBeGreaterThan(0);
      const filed = await untilFiled(daemon, 'zmq-client-kill', resolved.map((d) => d.id));
      console.log(`client-zmq kill -9: ${total} resolved, ${filed.length - new Set(filed).size} duplicates in the file sink, ${client.stats().retries} requests retried`);
    } finally {
      await client.close();
    }
  });

  it('two instances, one SIGKILLed mid-stream: the client fails over to the other and every resolved event is delivered', async () => {
    const a = await zmqDaemon();
    const b = await zmqDaemon();
    const client = createClient({ urls: [a.router, b.router], requestTimeoutMs: 5000, deliveryTimeoutMs: 0, batch: { maxEvents: 50 } });
    const resolved: Delivery[] = [];
    try {
      for (let start = 0; start < 6000; start += 500) {
        const chunk = Array.from({ length: 500 }, (_, i) => client.send('zmq-client-ha', { n: start + i }).then((d) => (resolved.push(d), d)));
        if (start === 2000) await a.daemon.kill();
        await Promise.all(chunk);
      }
      const after = resolved.slice(2500);
      expect(after.every((d) => d.instance === b.router)).toBe(true);
      expect(client.stats().instances.find((i) => i.url === a.router)?.state).toBe('down');
      // The killed instance's spool delivers what it acknowledged once it is back.
      await a.daemon.restart();
      const ids = (instance: string) => resolved.filter((d) => d.instance === instance).map((d) => d.id);
      await untilFiled(a.daemon, 'zmq-client-ha', ids(a.router));
      await untilFiled(b.daemon, 'zmq-client-ha', ids(b.router));
      expect(ids(a.router).length + ids(b.router).length).toBe(6000);
    } finally {
      await client.close();
    }
  });

  it('CURVE: a client with the server key and a listed key pair is answered; with another pair its events time out, saying why', async () => {
    const server = curveKeyPair();
    const listed = curveKeyPair();
    const { daemon, router } = await zmqDaemon({ zmq: { curveSecretKey: server.secretKey, curveClients: [listed.publicKey] } });
    const admitted = createClient({ urls: router, zmq: { curveServerKey: server.publicKey, curvePublicKey: listed.publicKey, curveSecretKey: listed.secretKey } });
    const stranger = createClient({ urls: router, zmq: { curveServerKey: server.publicKey }, deliveryTimeoutMs: 1500 });
    try {
      const delivery = await admitted.send('zmq-curve', { ok: true });
      expect(delivery).toMatchObject({ status: 'acked' });
      const error = await stranger.send('zmq-curve', { ok: false }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeliveryTimeoutError);
      expect((error as Error).message).toContain('handshake');
      await until(async () => (await filedIds(daemon, 'zmq-curve')).length === 1, 'the admitted event is filed');
      expect(await filedIds(daemon, 'zmq-curve')).toEqual([delivery.id]);
    } finally {
      await Promise.all([admitted.close(), stranger.close()]);
    }
  });

  it('an event larger than the instance zmq.maxMessageBytes is refused at once (413, as over HTTP); the batch around it is halved and delivered', async () => {
    const { daemon, router } = await zmqDaemon({ zmq: { maxMessageBytes: 4096 } });
    const told = createClient({ urls: router, zmq: { maxMessageBytes: 4096 }, batch: { maxEvents: 1000, lingerMs: 50 }, deliveryTimeoutMs: 600_000 });
    // Not told the limit: libzmq drops the connection on every try, until deliveryTimeoutMs.
    const untold = createClient({ urls: router, deliveryTimeoutMs: 1500 });
    try {
      const small = Array.from({ length: 60 }, (_, n) => told.send('zmq-max', { n, pad: 'x'.repeat(100) }));
      const large = told.send('zmq-max', { pad: 'y'.repeat(10_000) });
      const error = (await large.catch((caught: unknown) => caught)) as EventRefusedError;
      expect(error).toBeInstanceOf(EventRefusedError);
      expect(error).toMatchObject({ code: 'EVENT_REFUSED', status: 413, serverCode: 'MESSAGE_TOO_LARGE' });
      expect(error.message).toMatch(/more than the instance's zmq.maxMessageBytes \(4096/);
      const deliveries = await Promise.all(small);
      expect(deliveries.every((delivery) => delivery.status === 'acked')).toBe(true);
      expect(told.stats().retries).toBe(0);
      await until(async () => (await filedIds(daemon, 'zmq-max')).length === 60, 'the 60 small events are filed');
      expect((await filedIds(daemon, 'zmq-max')).sort()).toEqual(deliveries.map((delivery) => delivery.id).sort());
      const untoldError = await untold.send('zmq-max', { pad: 'z'.repeat(10_000) }).catch((caught: unknown) => caught);
      expect(untoldError).toBeInstanceOf(DeliveryTimeoutError);
    } finally {
      await Promise.all([told.close(), untold.close()]);
    }
  });

  it('sparkngin send takes the CURVE keys (--curve-server-key, --curve-public-key, --curve-secret-key-file) and the size limit', async () => {
    const server = curveKeyPair();
    const listed = curveKeyPair();
    const { daemon, router } = await zmqDaemon({ zmq: { curveSecretKey: server.secretKey, curveClients: [listed.publicKey], maxMessageBytes: 4096 } });
    const keyFile = join(daemon.dataDir, '..', 'client.key');
    // What `sparkngin zmq-keys` prints, as the file may hold it.
    await writeFile(keyFile, `# The secret key\ncurveSecretKey: ${JSON.stringify(listed.secretKey)}\n`);
    const run = async (args: string[], input: string) => {
      const child = spawn(process.execPath, [BUNDLE, 'send', 'zmq-cli-curve', '-', '--url', router, ...args], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, SPARKNGIN_URL: undefined } });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdin!.end(input);
      const status = await new Promise((resolve) => child.once('exit', resolve));
      return { status, stderr };
    };
    const keys = ['--curve-server-key', server.publicKey, '--curve-public-key', listed.publicKey, '--curve-secret-key-file', keyFile];
    expect(await run([...keys, '--zmq-max-message-bytes', '4096'], '{"a":1}\n{"a":2}\n')).toMatchObject({ status: 0 });
    await until(async () => (await filedIds(daemon, 'zmq-cli-curve')).length === 2, 'the two lines are filed');
    const tooLarge = await run([...keys, '--zmq-max-message-bytes', '4096', '--timeout', '600'], `{"big":"${'b'.repeat(5000)}"}\n`);
    expect(tooLarge.status).toBe(1);
    expect(tooLarge.stderr).toMatch(/1 of 1 events were NOT acknowledged .*EVENT_REFUSED: .*413 MESSAGE_TOO_LARGE/);
    const unlisted = await run(['--curve-server-key', server.publicKey, '--timeout', '2'], '{"a":3}\n');
    expect(unlisted.status).toBe(1);
    expect(unlisted.stderr).toMatch(/DELIVERY_TIMEOUT/);
    const half = await run(['--curve-public-key', listed.publicKey], '');
    expect(half.status).toBe(2);
    expect(half.stderr).toContain('--curve-public-key and --curve-secret-key go together');
  });

  it('sparkngin send --url tcp://… sends each line as an event and exits 0', async () => {
    const { daemon, router } = await zmqDaemon();
    const lines = Array.from({ length: 2000 }, (_, n) => `{"n":${n}}`).join('\n');
    const child = spawn(process.execPath, [BUNDLE, 'send', 'zmq-cli', '-', '--url', router, '--format', 'ndjson'], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, SPARKNGIN_URL: undefined } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin!.end(`${lines}\n`);
    const status = await new Promise((resolve) => child.once('exit', resolve));
    expect({ status, stderr }).toMatchObject({ status: 0 });
    await until(async () => (await filedIds(daemon, 'zmq-cli')).length === 2000, 'the file sink holds the 2000 lines');
  });
});
