// The client finds its instances on the LAN when it is given no URL: a daemon on one host of a LAN
// of network namespaces (test/peers/netns.ts; no multicast leaves them), and on another host
// `sparkngin send` and an application using the library (the ESM bundle), neither told where it is;
// the library and `send --transport zmq` again with discovery.transport zmq, sending to the ZeroMQ
// ROUTER the daemon advertises, within the message size it advertises.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, type Lan, type NetnsHost } from '../peers/netns';
import { type NetnsDaemon, startDaemonOn } from '../peers/netns-daemon';
import { until } from '../wait';
import { BUNDLE } from './daemon-process';

const CHILD = fileURLToPath(new URL('./client-process.mjs', import.meta.url));
let lan: Lan;
let daemon: NetnsDaemon;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-client-lan-'));
  lan = await createLan(2);
});
afterAll(async () => {
  await daemon?.close();
  await lan?.close();
  await rm(dir, { recursive: true, force: true });
});

async function stored(topic: string, count: number): Promise<Array<{ id: string; data: unknown }>> {
  const file = join(daemon.dataDir, 'out', `${topic}.ndjson`);
  const lines = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await until(async () => (await lines()).length >= count, `${count} events of ${topic} are stored`, 30_000);
  return (await lines()).map((line) => JSON.parse(line) as { id: string; data: unknown });
}

/** Runs the client app (client-process.mjs) on h2 without a URL: its 100 events all acknowledged through `via`, and stored. */
async function expectAppDeliversThrough(options: Record<string, unknown>, via: string): Promise<void> {
  const app = await (lan.hosts[1] as NetnsHost).exec(process.execPath, [CHILD, JSON.stringify({ urls: null, count: 100, ack: 'spool', ...options })], { timeoutMs: 120_000, env: { ...process.env, SPARKNGIN_URL: '' } });
  expect(app.code, app.stderr).toBe(0);
  const lines = app.stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(100);
  expect(lines.every((line) => line.startsWith('acked ') && line.endsWith(` ${via}`))).toBe(true);
  expect((await stored(options.topic as string, 100)).map((event) => event.id).sort()).toEqual(lines.map((line) => line.split(' ')[1]).sort());
}

describe('the client without a URL', () => {
  it('says so when no instance is advertised on the LAN (exit 1)', async () => {
    const nowhere = await lan.hosts[1]!.exec(process.execPath, [BUNDLE, 'send', 't', '/dev/null'], { timeoutMs: 60_000, env: { ...process.env, SPARKNGIN_URL: '' } });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/no Sparkngin instance to send to: none given \(urls, SPARKNGIN_URL\) and none usable found on the LAN/);
  });

  it('sparkngin send and the library find the instance advertised on the LAN and deliver to it', async () => {
    daemon = await startDaemonOn(lan.hosts[0]!, { config: { zmq: { router: 'tcp://0.0.0.0:7082', framing: 'nw1', maxMessageBytes: 65_536 } } });
    await daemon.logged('discovery.advertised');
    const h2 = lan.hosts[1] as NetnsHost;
    const input = join(dir, 'events.ndjson');
    await writeFile(input, '{"n":1}\n{"n":2}\n{"n":3}\n');
    const env = { ...process.env, SPARKNGIN_URL: '' };
    const sent = await h2.exec(process.execPath, [BUNDLE, 'send', 'found', input], { timeoutMs: 120_000, env });
    expect(sent.stderr).toContain('3 events sent to found, all acknowledged');
    expect(sent.code).toBe(0);
    expect((await stored('found', 3)).map((event) => event.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);

    await expectAppDeliversThrough({ spillDir: join(dir, 'spill'), topic: 'found-lib' }, `http://${lan.hosts[0]!.address}:7080`);
  });

  it('the library with discovery.transport zmq finds the advertised ZeroMQ ROUTER and delivers through it', async () => {
    await expectAppDeliversThrough({ spillDir: join(dir, 'spill-zmq'), topic: 'found-zmq', discovery: { transport: 'zmq' } }, `tcp://${lan.hosts[0]!.address}:7082`);
  });

  it('sparkngin send --transport zmq finds the advertised ZeroMQ ROUTER and delivers through it', async () => {
    const h2 = lan.hosts[1] as NetnsHost;
    // Events stored from the ROUTER, as the daemon's /stats counts them (from inside its namespace).
    const routerStored = async () => {
      const read = await lan.hosts[0]!.exec(process.execPath, ['-e', `fetch('http://127.0.0.1:7080/stats').then((r) => r.json()).then((s) => console.log(s.ingest.zmq.sockets.find((x) => x.socket === 'router').storedEvents))`], { timeoutMs: 30_000 });
      return Number(read.stdout.trim());
    };
    const before = await routerStored();
    const input = join(dir, 'events-zmq.ndjson');
    await writeFile(input, '{"z":1}\n{"z":2}\n{"z":3}\n');
    const sent = await h2.exec(process.execPath, [BUNDLE, 'send', 'found-zmq-cli', input, '--transport', 'zmq'], { timeoutMs: 120_000, env: { ...process.env, SPARKNGIN_URL: '' } });
    expect(sent.stderr).toContain('3 events sent to found-zmq-cli, all acknowledged');
    expect(sent.code).toBe(0);
    expect((await stored('found-zmq-cli', 3)).map((event) => event.data)).toEqual([{ z: 1 }, { z: 2 }, { z: 3 }]);
    expect((await routerStored()) - before).toBe(3);

    // The ROUTER's zmq.maxMessageBytes comes with its TXT record (zmq-max): a larger event is refused at once, never sent.
    const large = join(dir, 'large.ndjson');
    await writeFile(large, `{"big":"${'b'.repeat(70_000)}"}\n`);
    const refused = await h2.exec(process.execPath, [BUNDLE, 'send', 'found-zmq-cli', large, '--transport', 'zmq', '--timeout', '600'], { timeoutMs: 120_000, env: { ...process.env, SPARKNGIN_URL: '' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 of 1 events were NOT acknowledged .*EVENT_REFUSED: .*413 MESSAGE_TOO_LARGE: .*zmq.maxMessageBytes \(65536/);
    expect((await routerStored()) - before).toBe(3);
  });
});
