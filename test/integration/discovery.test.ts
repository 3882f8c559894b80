// Discovery between real processes on a LAN of network namespaces (test/peers/netns.ts): the daemon
// advertises, `sparkngin discover` (another process, on another host) finds it, probes it, follows
// it with --watch; names in conflict are renamed. No multicast leaves the test's namespaces.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredInstance } from '../../src/discovery/browse';
import { until } from '../wait';
import { BUNDLE } from './daemon-process';
import { startAvahi } from '../peers/avahi';
import { createLan, type Lan, type NetnsHost } from '../peers/netns';
import { makeTestCa } from '../peers/test-ca';
import { type NetnsDaemon, startDaemonOn } from '../peers/netns-daemon';

const RESPONDER = fileURLToPath(new URL('../peers/netns-mdns-responder.mjs', import.meta.url));

let lan: Lan;
const daemons: NetnsDaemon[] = [];

beforeAll(async () => {
  lan = await createLan(4);
});

afterAll(async () => {
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await lan?.close();
});

async function daemonOn(host: NetnsHost, options: Parameters<typeof startDaemonOn>[1] = {}): Promise<NetnsDaemon> {
  const daemon = await startDaemonOn(host, options);
  daemons.push(daemon);
  return daemon;
}

/** `sparkngin discover --json` run on `host`. */
async function discover(host: NetnsHost, ...args: string[]): Promise<{ found: DiscoveredInstance[]; stderr: string }> {
  const ran = await host.exec(process.execPath, [BUNDLE, 'discover', '--json', '--timeout', '3', ...args], { timeoutMs: 120_000 });
  expect(ran.code, ran.stderr).toBe(0);
  return { found: JSON.parse(ran.stdout) as DiscoveredInstance[], stderr: ran.stderr };
}

/** The hostile responder (test/peers/netns-mdns-responder.mjs) on `host` until `use` ends. */
async function withResponder<T>(host: NetnsHost, scenario: Record<string, unknown>, use: () => Promise<T>): Promise<T> {
  const responder = host.spawn(process.execPath, [RESPONDER, JSON.stringify({ via: host.address, address: lan.unusedAddress, ...scenario })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  responder.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  responder.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await until(() => out.includes('ready'), `the responder is ready:\n${out}`, 20_000);
    return await use();
  } finally {
    responder.kill('SIGTERM');
    await new Promise((resolve) => responder.once('exit', resolve));
  }
}

describe('sparkngin discover', () => {
  it('finds an instance on another host of the LAN, with its TXT record, and probes it reachable', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const daemon = await daemonOn(h1);
    const advertised = await daemon.logged('discovery.advertised');
    expect(advertised.name).toBe('Sparkngin on h1');
    const { found } = await discover(h2);
    const instance = found.find((candidate) => candidate.name === 'Sparkngin on h1');
    expect(instance, JSON.stringify(found)).toBeDefined();
    expect(instance).toMatchObject({
      host: 'h1.local',
      port: 7080,
      addresses: [h1.address],
      basePath: '/v1',
      proto: 'http',
      ingest: ['http'],
      tokenRequired: false,
      urls: [`http://${h1.address}:7080`],
      reachable: true,
    });
    expect(instance!.txt).toMatchObject({ txtvers: '1', path: '/v1', proto: 'http', ingest: 'http', auth: 'none' });
    expect(instance!.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(instance!.version).toBeDefined();
    // Browsing on the named interface only; an interface that does not exist is an error (exit 1).
    expect((await discover(h2, '--interface', 'lan0', '--no-probe')).found.map((candidate) => candidate.name)).toContain('Sparkngin on h1');
    const none = await h2.exec(process.execPath, [BUNDLE, 'discover', '--interface', 'nope']);
    expect([none.code, none.stderr.trim()]).toEqual([1, 'sparkngin: no interface named nope with an IPv4 address']);
    await daemon.stop();
  });

  it('--watch shows the instance join, and leave when it stops gracefully (goodbye packets)', async () => {
    const [, h2, h3] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost];
    const watcher = h2.spawn(process.execPath, [BUNDLE, 'discover', '--watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    watcher.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const events = () => out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { event: string; instance: DiscoveredInstance });
    try {
      const daemon = await daemonOn(h3, { config: { discovery: { name: 'Watched', enabled: true, interfaces: [] } } });
      await until(() => events().some((e) => e.event === 'join' && e.instance.name === 'Watched'), `a join of Watched in:\n${out}`, 30_000);
      const joined = events().find((e) => e.event === 'join' && e.instance.name === 'Watched')!;
      expect(joined.instance).toMatchObject({ host: 'h3.local', addresses: [h3.address], reachable: true });
      expect(await daemon.stop()).toBe(0);
      // The goodbye removes it at once; without it, it would stay for the SRV record's 120 s.
      await until(() => events().some((e) => e.event === 'leave' && e.instance.name === 'Watched'), `a leave of Watched in:\n${out}`, 20_000);
      expect(events().filter((e) => e.instance.name === 'Watched').map((e) => e.event)).toEqual(['join', 'leave']);
    } finally {
      watcher.kill('SIGINT');
      expect(await new Promise((resolve) => watcher.once('exit', resolve))).toBe(0);
    }
  });

  it('two instances with one name: the later one is renamed "(2)", on one host and across hosts', async () => {
    const [h1, h2, h3, h4] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
    const config = { discovery: { name: 'Ingest', enabled: true, interfaces: [] } };
    const first = await daemonOn(h1, { port: 7101, config });
    expect((await first.logged('discovery.advertised')).name).toBe('Ingest');
    const second = await daemonOn(h2, { port: 7101, config });
    expect((await second.logged('discovery.advertised')).name).toBe('Ingest (2)');
    // Two daemons on one host (same host name, other port).
    const third = await daemonOn(h1, { port: 7102, config });
    expect((await third.logged('discovery.advertised')).name).toBe('Ingest (3)');
    const { found } = await discover(h4);
    const ingest = found.filter((instance) => instance.name.startsWith('Ingest')).map((instance) => [instance.name, instance.host, instance.port, instance.reachable]);
    expect(ingest.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['Ingest', 'h1.local', 7101, true],
      ['Ingest (2)', 'h2.local', 7101, true],
      ['Ingest (3)', 'h1.local', 7102, true],
    ]);
    // Distinct instance ids whatever the names.
    expect(new Set(found.filter((instance) => instance.name.startsWith('Ingest')).map((instance) => instance.instanceId)).size).toBe(3);
    await Promise.all([first.stop(), second.stop(), third.stop()]);
  });
});

describe('advertising', () => {
  it('two instances started at the same moment under one name end with two names (the tie-break renames one)', async () => {
    const [h1, h2, , h4] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
    const config = { discovery: { name: 'Twin', enabled: true, interfaces: [] } };
    const [a, b] = await Promise.all([daemonOn(h1, { port: 7501, config }), daemonOn(h2, { port: 7501, config })]);
    await Promise.all([a.logged('discovery.advertised'), b.logged('discovery.advertised')]);
    await until(async () => {
      const { found } = await discover(h4, '--no-probe', '--timeout', '2');
      const twins = found.filter((instance) => instance.name.startsWith('Twin')).map((instance) => instance.name);
      return twins.length === 2 && new Set(twins).size === 2;
    }, 'two Twin instances with distinct names', 60_000);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a host announcing other data under our name after we announced it: the lower SRV data renames, the higher keeps its name', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const loser = await daemonOn(h1, { port: 7551, config: { discovery: { name: 'Contested', enabled: true, interfaces: [] } } });
    const winner = await daemonOn(h1, { port: 7552, config: { discovery: { name: 'Defended', enabled: true, interfaces: [] } } });
    await Promise.all([loser.logged('discovery.advertised'), winner.logged('discovery.advertised')]);
    // Port 9999 on zz.local compares higher than 7551 on h1.local; port 1 compares lower than 7552.
    await withResponder(h2, { claim: { name: 'Contested', port: 9999, target: 'zz.local' } }, () => loser.logged('discovery.renamed'));
    expect(loser.logs().find((line) => line.event === 'discovery.renamed')).toMatchObject({ from: 'Contested', to: 'Contested (2)' });
    await withResponder(h2, { claim: { name: 'Defended', port: 1, target: 'zz.local' } }, () => winner.logged('discovery.conflict-won'));
    expect(winner.logs().some((line) => line.event === 'discovery.renamed')).toBe(false);
    await Promise.all([loser.stop(), winner.stop()]);
  });

  it('an address added to the interface is announced; with discovery.interfaces, other interfaces are not advertised on', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    // A second interface on h1 (a veth pair with both ends on h1: up, with an address, on no LAN) that must not be advertised.
    await h1.ip('link', 'add', 'side0', 'type', 'veth', 'peer', 'name', 'side1');
    await h1.ip('addr', 'add', '198.19.7.1/24', 'dev', 'side0');
    await h1.ip('link', 'set', 'side0', 'up');
    await h1.ip('link', 'set', 'side1', 'up');
    const daemon = await daemonOn(h1, { port: 7601, config: { discovery: { name: 'Moving', enabled: true, interfaces: ['lan0'] } } });
    const advertised = await daemon.logged('discovery.advertised');
    expect(advertised.interfaces).toEqual([{ name: 'lan0', addresses: [h1.address] }]);
    await h1.ip('addr', 'add', '198.18.0.77/24', 'dev', 'lan0');
    try {
      await daemon.logged('discovery.addresses-changed', undefined, 30_000);
      await until(async () => {
        const { found } = await discover(h2, '--timeout', '2');
        const moving = found.find((instance) => instance.name === 'Moving');
        return moving !== undefined && moving.addresses.join() === [h1.address, '198.18.0.77'].join() && moving.reachable === true;
      }, 'Moving advertised with its new address too', 60_000);
      expect(JSON.stringify(daemon.logs())).not.toContain('198.19.7.1');
    } finally {
      await h1.ip('addr', 'del', '198.18.0.77/24', 'dev', 'lan0');
      await h1.ip('link', 'del', 'side0');
    }
    await daemon.stop();
  });

  it('an instance listening on loopback only is not advertised, nor one with discovery.enabled false', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const local = await daemonOn(h1, { port: 7701, listenHost: '127.0.0.1', config: { discovery: { name: 'Local only', enabled: true, interfaces: [] } } });
    const off = await daemonOn(h1, { port: 7702, config: { discovery: { name: 'Switched off', enabled: false, interfaces: [] } } });
    // Advertising is decided after the daemon has started (it never delays the start): wait for the line.
    const offReason = async (daemon: NetnsDaemon) => {
      await until(() => daemon.logs().some((line) => line.event === 'discovery.off'), 'the discovery.off log line', 20_000);
      return daemon.logs().find((line) => line.event === 'discovery.off')?.reason as string;
    };
    expect(await offReason(local)).toMatch(/127\.0\.0\.1/);
    expect(await offReason(off)).toMatch(/discovery\.enabled is false/);
    const { found } = await discover(h2, '--no-probe');
    expect(found.map((instance) => instance.name)).not.toContain('Local only');
    expect(found.map((instance) => instance.name)).not.toContain('Switched off');
    await Promise.all([local.stop(), off.stop()]);
  });

  it('an instance with TLS and tokens says https and auth=required (never a token), and is probed over TLS', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const dir = await mkdtemp(join(tmpdir(), 'sparkngin-discovery-ca-'));
    try {
      const server = await (await makeTestCa(dir)).issue('server');
      const token = { name: 'app', sha256: 'ab'.repeat(32), topics: ['*'] };
      const daemon = await daemonOn(h1, { port: 7901, config: { discovery: { name: 'Secure', enabled: true, interfaces: [] }, tls: { cert: server.cert, key: server.key }, auth: { tokens: [token] } } });
      const advertised = await daemon.logged('discovery.advertised');
      expect(JSON.stringify(advertised)).not.toContain(token.sha256);
      const { found } = await discover(h2);
      expect(found.find((instance) => instance.name === 'Secure')).toMatchObject({ proto: 'https', tokenRequired: true, urls: [`https://${h1.address}:7901`], reachable: true, txt: { proto: 'https', auth: 'required' } });
      await daemon.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the instance id is kept in the data dir across restarts', async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const config = { discovery: { name: 'Restarted', enabled: true, interfaces: [] } };
    const first = await startDaemonOn(h1, { port: 7801, config });
    const id = ((await first.logged('discovery.advertised')).txt as Record<string, string>).id;
    expect(await first.stop()).toBe(0);
    const again = await daemonOn(h1, { port: 7801, config, dataDir: first.dataDir });
    expect(((await again.logged('discovery.advertised')).txt as Record<string, string>).id).toBe(id);
    const { found } = await discover(h2, '--no-probe');
    expect(found.find((instance) => instance.name === 'Restarted')?.instanceId).toBe(id);
    await again.stop();
    await first.close();
  });
});

describe('interoperability with avahi (Debian)', () => {
  it("avahi-browse sees our advertisement with its TXT record, as _sparkngin._tcp and as an _http._tcp subtype", async () => {
    const [h1, h2] = lan.hosts as [NetnsHost, NetnsHost];
    const avahi = await startAvahi(h2);
    try {
      const daemon = await daemonOn(h1, { port: 7201, config: { discovery: { name: 'Seen by avahi', enabled: true, interfaces: [] } } });
      const seen = await avahi.seen('_sparkngin._tcp', (service) => service.name === 'Seen by avahi');
      expect(seen).toMatchObject({ type: '_sparkngin._tcp', hostName: 'h1.local', address: h1.address, port: 7201 });
      const id = (await daemon.logged('discovery.advertised')).txt as Record<string, string>;
      expect(seen.txt.sort()).toEqual(Object.entries(id).map(([key, value]) => `${key}=${value}`).sort());
      const http = await avahi.seen('_http._tcp', (service) => service.name === 'Seen by avahi');
      expect(http).toMatchObject({ port: 7201, address: h1.address });
      expect(http.txt).toContain('path=/health');
      const subtype = await avahi.seen('_sparkngin._sub._http._tcp', (service) => service.name === 'Seen by avahi');
      expect(subtype.port).toBe(7201);
      await daemon.stop();
    } finally {
      await avahi.stop();
    }
  });

  it('name conflicts with avahi: a name avahi holds makes ours "(2)"; a name we hold makes avahi rename its own', async () => {
    const [h1, h2, h3] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost];
    const avahi = await startAvahi(h2);
    try {
      const held = await avahi.publish('Held by avahi', '_sparkngin._tcp', 9, ['txtvers=1']);
      const ours = await daemonOn(h1, { port: 7251, config: { discovery: { name: 'Held by avahi', enabled: true, interfaces: [] } } });
      expect((await ours.logged('discovery.advertised')).name).toBe('Held by avahi (2)');
      const mine = await daemonOn(h3, { port: 7252, config: { discovery: { name: 'Held by us', enabled: true, interfaces: [] } } });
      await mine.logged('discovery.advertised');
      // avahi-publish probes, meets our answer, and takes another name (avahi's own scheme: "#2").
      const theirs = await avahi.publish('Held by us', '_sparkngin._tcp', 9, ['txtvers=1']);
      expect(theirs.name).toBe('Held by us #2');
      const seen = await avahi.seen('_sparkngin._tcp', (service) => service.name === 'Held by us' && service.port === 7252);
      expect(seen.hostName).toBe('h3.local');
      await Promise.all([held.stop(), theirs.stop()]);
      await Promise.all([ours.stop(), mine.stop()]);
    } finally {
      await avahi.stop();
    }
  });

  it('discover sees a _sparkngin._tcp service published by avahi-publish (here for a daemon that does not advertise itself)', async () => {
    const [, h2, h3] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost];
    const avahi = await startAvahi(h2);
    try {
      const daemon = await daemonOn(h2, { port: 7301, config: { discovery: { enabled: false, interfaces: [], name: '' } } });
      // Logged after daemon.started (the listener's address decides it): wait for the line.
      expect((await daemon.logged('discovery.off')).reason).toBe('discovery.enabled is false');
      const published = await avahi.publish('Published by avahi', '_sparkngin._tcp', 7301, ['txtvers=1', 'id=avahi-published-1', 'path=/v1', 'proto=http', 'ingest=http', 'auth=required']);
      const { found } = await discover(h3);
      const instance = found.find((candidate) => candidate.name === 'Published by avahi');
      expect(instance, JSON.stringify(found)).toMatchObject({
        host: `avahi-${h2.hostname}.local`,
        port: 7301,
        instanceId: 'avahi-published-1',
        tokenRequired: true,
        urls: [`http://${h2.address}:7301`],
        reachable: true,
      });
      // avahi adds its IPv6 link-local address; the URLs leave it out (no zone to reach it with).
      expect(instance!.addresses[0]).toBe(h2.address);
      await published.stop();
      await daemon.stop();
    } finally {
      await avahi.stop();
    }
  });
});

describe('hostile advertisements', () => {
  it('bad TXT data is skipped and named, an unreachable address is listed unreachable, 500 at once neither crash nor hang', async () => {
    const [, h2, h3, h4] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
    const daemon = await daemonOn(h3, { port: 7401, config: { discovery: { name: 'Real one', enabled: true, interfaces: [] } } });
    await daemon.logged('discovery.advertised');
    const { found, stderr } = await withResponder(h2, { flood: 500, bad: true }, () => discover(h4));
    const flood = found.filter((instance) => instance.name.startsWith('Flood '));
    expect(flood).toHaveLength(500);
    expect(flood.every((instance) => instance.reachable === false && instance.urls[0] === `http://${lan.unusedAddress}:7080`)).toBe(true);
    expect(found.find((instance) => instance.name === 'Real one')).toMatchObject({ reachable: true, urls: [`http://${h3.address}:7401`] });
    for (const [name, why] of [
      ['Bad version', 'txtvers="2" is not 1'],
      ['Bad proto', 'proto="gopher" is neither http nor https'],
      ['Bad path', 'is not a plain absolute path'],
      ['Bad auth', 'auth="maybe" is neither required nor none'],
      ['Bad port', 'no usable port'],
    ]) {
      expect(stderr).toContain(`skipped '${name}': `);
      expect(stderr.split('\n').find((line) => line.includes(`'${name}'`))).toContain(why);
      expect(found.some((instance) => instance.name === name)).toBe(false);
    }
    expect(found.find((instance) => instance.name === 'Bad utf8')).toMatchObject({ instanceId: 'bad-utf8', proto: 'http', txt: { txtvers: '1', id: 'bad-utf8' } });
    const repeats = found.find((instance) => instance.name === 'Bad repeats')!;
    expect(repeats.proto).toBe('https');
    expect(Object.getPrototypeOf(repeats.txt)).toBe(Object.prototype);
    expect(Object.keys(found.find((instance) => instance.name === 'Bad many keys')!.txt)).toHaveLength(64);
    expect(found.some((instance) => instance.name === 'Stray' || instance.name.includes('Elsewhere'))).toBe(false);
    await daemon.stop();
  }, 120_000);

  it('past maxInstances (1024) advertisements are skipped, so that memory stays bounded', async () => {
    const [, h2, , h4] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
    // 15 s: the browser asks again at 1, 3, 7 s. Under heavy load UDP drops part of 1500 answers (955
    // arrived in one run), and then fewer than 1025 are seen: the bound holds on every run, and a run
    // is repeated (up to 3) until more than 1024 arrived and were cut at the bound.
    let run = { found: [] as unknown[], stderr: '' };
    for (let attempt = 1; attempt <= 3; attempt++) {
      run = await withResponder(h2, { flood: 1500 }, () => discover(h4, '--no-probe', '--timeout', '15'));
      expect(run.found.length).toBeLessThanOrEqual(1024);
      if (run.stderr.includes('more than 1024 instances')) break;
    }
    expect(run.found).toHaveLength(1024);
    expect(run.stderr).toContain('more than 1024 instances');
  }, 240_000);
});
