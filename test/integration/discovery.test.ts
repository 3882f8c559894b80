// Discovery between real processes on a LAN of network namespaces (test/peers/netns.ts): the daemon
// advertises, `sparkngin discover` (another process, on another host) finds it, probes it, follows
// it with --watch; names in conflict are renamed. No multicast leaves the test's namespaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredInstance } from '../../src/discovery/browse';
import { until } from '../wait';
import { BUNDLE } from './daemon-process';
import { createLan, type Lan, type NetnsHost } from '../peers/netns';
import { type NetnsDaemon, startDaemonOn } from '../peers/netns-daemon';

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
    await daemon.stop();
  });
});
