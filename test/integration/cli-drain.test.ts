// `sparkngin drain --to URL` as a user runs it: the spool of an instance SIGKILLed with events its
// sink never delivered, copied elsewhere, drained into another instance exactly once (ids, keys,
// headers, client times and payloads kept), twice harmlessly; a spool a live daemon holds refused;
// a client's disk spill drained the same way; a partition chosen by the client kept. drain --kafka is in client-ha.test.ts (real Kafka).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Delivery } from '../../src/client/index';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

let dir: string;
let receiver: DaemonProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-drain-'));
  receiver = await startDaemon();
});
afterAll(async () => {
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

function drain(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BUNDLE, 'drain', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

interface Stored {
  id: string;
  key?: string;
  sts?: number;
  host: string;
  headers: Record<string, string>;
  type: string;
  data: unknown;
}

async function received(topic: string, count: number): Promise<Stored[]> {
  const file = join(receiver.dataDir, 'out', `${topic}.ndjson`);
  const lines = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await until(async () => (await lines()).length >= count, `${count} events of ${topic} are written`);
  return (await lines()).map((line) => JSON.parse(line) as Stored);
}

describe('sparkngin drain --to', () => {
  it('delivers exactly what a dead instance had not delivered, keeping each event as it was sent; twice is harmless', async () => {
    const dead = await startDaemon({ config: { sinks: { file: { enabled: false }, kafka: { brokers: [`127.0.0.1:${await freePort()}`] } } } });
    const client = createClient({ urls: dead.url });
    const sent: Delivery[] = await Promise.all(
      Array.from({ length: 2000 }, (_, n) => client.send('stranded', { n }, { key: `k${n % 7}`, time: 1_700_000_000_000 + n, headers: { trace: `t${n}` } })),
    );
    await client.close();

    const live = await drain(['--spool', dead.dataDir, '--to', receiver.url]);
    expect(live.status).toBe(1);
    expect(live.stderr).toMatch(/refusing to drain .*: the data dir .* is in use by another sparkngin \(pid \d+ on host/);

    await dead.kill();
    const copy = join(dir, 'copy');
    await cp(dead.dataDir, copy, { recursive: true });
    await dead.close();

    const first = await drain(['--spool', copy, '--to', receiver.url]);
    expect(first.stderr).toContain(`2000 events delivered to ${receiver.url}`);
    expect(first.status).toBe(0);
    const again = await drain(['--spool', join(copy, 'spool'), '--to', receiver.url]);
    expect(again.stderr).toContain('0 events delivered');
    expect(again.status).toBe(0);

    const stored = await received('stranded', 2000);
    expect(stored.map((event) => event.id).sort()).toEqual(sent.map((delivery) => delivery.id).sort());
    const byId = new Map(stored.map((event) => [event.id, event]));
    sent.forEach((delivery, n) => {
      expect(byId.get(delivery.id)).toMatchObject({ key: `k${n % 7}`, sts: 1_700_000_000_000 + n, headers: { trace: `t${n}` }, type: 'json', data: { n } });
    });
  });

  it("keeps each event's Kafka partition through the drain (the REST Proxy's partition, in the spool and in NW1)", async () => {
    const dead = await startDaemon({ config: { restProxy: { enabled: true }, sinks: { file: { enabled: false }, kafka: { brokers: [`127.0.0.1:${await freePort()}`] } } } });
    const records = Array.from({ length: 30 }, (_, n) => ({ value: { n }, ...(n % 3 === 2 ? {} : { partition: n % 3 }) }));
    const response = await fetch(`${dead.url}/topics/pinned`, { method: 'POST', headers: { 'content-type': 'application/vnd.kafka.json.v2+json' }, body: JSON.stringify({ records }) });
    expect(response.status).toBe(200);
    await dead.kill();
    const run = await drain(['--spool', dead.dataDir, '--to', receiver.url]);
    expect(run.stderr).toContain('30 events delivered');
    expect(run.status).toBe(0);
    await dead.close();
    const stored = (await received('pinned', 30)) as Array<Stored & { partition?: number }>;
    expect(stored.map((event) => [(event.data as { n: number }).n, event.partition]).sort((a, b) => a[0]! - b[0]!)).toEqual(records.map((record) => [record.value.n, record.partition]));
  });

  it("drains a client's disk spill the same way", async () => {
    const spill = join(dir, 'spill');
    const client = createClient({ urls: `http://127.0.0.1:${await freePort()}`, spill: { dir: spill }, batch: { lingerMs: 0 } });
    const spilled = await Promise.all(Array.from({ length: 300 }, (_, n) => client.send('from-spill', { n })));
    expect(spilled.every((delivery) => delivery.status === 'spilled')).toBe(true);
    await client.close();
    const run = await drain(['--spool', join(spill, 'ack-spool'), '--to', receiver.url]);
    expect(run.stderr).toContain('300 events delivered');
    expect(run.status).toBe(0);
    expect((await received('from-spill', 300)).map((event) => event.id).sort()).toEqual(spilled.map((delivery) => delivery.id).sort());
  });
});
