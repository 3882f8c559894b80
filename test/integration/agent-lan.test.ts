// `sparkngin agent --set agent.discover=true` on a LAN of network namespaces (test/peers/netns.ts:
// mDNS stays inside them): it finds the instances advertised on other hosts with no list, watches
// them by their advertised address, flags one killed with SIGKILL and clears it when it is back;
// one that stops gracefully (goodbye packets) is no longer watched.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FleetView } from '../../src/agent/fleet';
import { createLan, type Lan } from '../peers/netns';
import { startDaemonOn } from '../peers/netns-daemon';
import { until } from '../wait';
import { BUNDLE } from './daemon-process';

let lan: Lan;
let dir: string;
beforeAll(async () => {
  lan = await createLan(3);
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-agent-lan-'));
});
afterAll(async () => {
  await lan?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('agent with discovery', () => {
  it('watches what is advertised on the LAN: a SIGKILLed instance flagged and cleared, a stopped one forgotten', async () => {
    const [h1, h2, h3] = lan.hosts as [typeof lan.hosts[0], typeof lan.hosts[0], typeof lan.hosts[0]];
    const a = await startDaemonOn(h1, { port: 7081 });
    const b = await startDaemonOn(h2, { port: 7082 });
    const file = join(dir, 'agent.yaml');
    await writeFile(file, stringify({ agent: { listen: '127.0.0.1:7090', discover: true, pollIntervalMs: 300, lateAfterSeconds: 2 } }));
    const agent: ChildProcess = h3.spawn(process.execPath, [BUNDLE, 'agent', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    agent.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const fleet = async (): Promise<FleetView | undefined> => {
      const { code, stdout } = await h3.exec('curl', ['-fsS', '--max-time', '2', 'http://127.0.0.1:7090/fleet'], { timeoutMs: 5_000 });
      return code === 0 ? (JSON.parse(stdout) as FleetView) : undefined;
    };
    const byUrl = async (url: string) => (await fleet())?.instances.find((instance) => instance.url === url);
    const urlA = `http://${h1.address}:7081`;
    const urlB = `http://${h2.address}:7082`;
    try {
      await until(async () => (await byUrl(urlA))?.state === 'ok' && (await byUrl(urlB))?.state === 'ok', `the agent found and polled both instances\n${output}`);
      const seen = (await byUrl(urlA))!;
      expect(seen.sources).toEqual(['mdns']);
      expect(seen.name).toMatch(/^Sparkngin on h1/);
      expect(seen.id).toMatch(/^[0-9a-f-]{36}$/);

      await a.kill();
      await until(async () => (await byUrl(urlA))?.findings.some((finding) => finding.kind === 'unreachable') === true, 'the killed instance is flagged');
      expect((await byUrl(urlB))?.state).toBe('ok');
      const back = await startDaemonOn(h1, { port: 7081, dataDir: a.dataDir });
      await until(async () => (await byUrl(urlA))?.state === 'ok', 'the instance that came back is cleared');

      await b.stop();
      await until(async () => (await byUrl(urlB)) === undefined, 'an instance that said goodbye is no longer watched');
      await back.close();
    } finally {
      agent.kill('SIGTERM');
      await a.close();
      await b.close();
    }
  }, 180_000);
});
