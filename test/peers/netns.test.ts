// The namespace LAN of netns.ts keeps its promises: its hosts reach each other by multicast, nothing
// of it appears in the default namespace (no interface, and a capture on the machine's interfaces
// sees no mDNS while its hosts multicast), and its namespaces are gone after close(), and after the
// test process is killed (the watchdog).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { until } from '../wait';
import { createLan, type NetnsHost } from './netns';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const links = () => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').map((line) => line.split(':')[1]?.trim()).filter(Boolean).sort();

/**
 * Counts, for `seconds`, frames bound for 224.0.0.251 or UDP port 5353 on the interfaces of the
 * default namespace, or of `host`'s (a read-only AF_PACKET capture; loopback aside).
 */
function captureMdns(seconds: number, host?: NetnsHost): Promise<number> {
  const script = `
import socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
s.settimeout(0.2)
seen, end = 0, time.time() + ${seconds}
while time.time() < end:
    try:
        frame, where = s.recvfrom(65535)
    except socket.timeout:
        continue
    if where[0] == 'lo' or len(frame) < 38 or frame[12:14] != b'\\x08\\x00':
        continue
    ihl = (frame[14] & 15) * 4
    dst = frame[30:34]
    dport = struct.unpack('!H', frame[14 + ihl + 2:14 + ihl + 4])[0] if frame[23] == 17 else 0
    if dst == bytes([224, 0, 0, 251]) or dport == 5353:
        seen += 1
print(seen)
`;
  return new Promise((resolve, reject) => {
    const child = host ? host.spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(out))));
  });
}

const QUERIER = `
const mdns = require('multicast-dns')({ interface: process.argv[1], bind: '0.0.0.0' });
const seen = new Set();
mdns.on('query', (query, from) => { if (from.address !== process.argv[1]) seen.add(from.address); });
const timer = setInterval(() => mdns.query('_netns-test._tcp.local', 'PTR'), 100);
setTimeout(() => { clearInterval(timer); console.log(JSON.stringify([...seen])); mdns.destroy(); }, 3000);
`;

describe('the namespace LAN', () => {
  it('carries multicast between its hosts and none of it to the machine, and is gone after close()', async () => {
    const before = links();
    const lan = await createLan(2);
    try {
      expect(links(), 'no interface of the LAN in the default namespace').toEqual(before);
      const capture = captureMdns(4);
      // The same capture on a host of the LAN: it does see the queries there.
      const control = captureMdns(4, lan.hosts[0]);
      const cwd = fileURLToPath(new URL('../..', import.meta.url));
      const runs = await Promise.all(lan.hosts.map((host) => host.exec(process.execPath, ['-e', QUERIER, host.address], { env: { ...process.env, NODE_PATH: join(cwd, 'node_modules') } })));
      // Each host heard the other's queries…
      expect(runs.map((run) => JSON.parse(run.stdout))).toEqual([[lan.hosts[1]!.address], [lan.hosts[0]!.address]]);
      // …and the machine's own interfaces carried none of them.
      expect(await capture).toBe(0);
      expect(await control).toBeGreaterThan(10);
    } finally {
      await lan.close();
    }
    for (const ns of lan.namespaces) expect(namespaces()).not.toContain(ns);
  });

  it('its namespaces are deleted by the watchdog when the test process dies without closing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparkngin-netns-'));
    try {
      const bundle = join(dir, 'lan.cjs');
      await build({ entryPoints: [fileURLToPath(new URL('./netns.ts', import.meta.url))], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
      const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).createLan(1).then((lan) => { console.log(JSON.stringify(lan.namespaces)); setInterval(() => undefined, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await until(() => out.includes(']'), 'the child made its LAN', 30_000);
      const made = JSON.parse(out) as string[];
      for (const ns of made) expect(namespaces()).toContain(ns);
      child.kill('SIGKILL');
      await until(() => made.every((ns) => !namespaces().includes(ns)), 'the watchdog deleted the namespaces', 30_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
