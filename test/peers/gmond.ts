// Debian's gmond (ganglia-monitor) as a test peer, started by hand with a config of its own: it
// takes metrics on a udp_recv_channel and serves its XML on a tcp_accept_channel, both bound to
// 127.0.0.1 on free ports. No multicast anywhere (no mcast_join, no udp_send_channel: it sends
// nothing), no modules (its XML holds only what it was sent), no privilege drop, in the foreground.
// The package's own gmond never runs (policy-rc.d).
//
//   const gmond = await startGmond();
//   ... publish to 127.0.0.1:gmond.udpPort ...
//   const hosts = await gmond.hosts();        // parsed XML: hosts with their metrics
//   await gmond.stop();
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../wait';
import { freePort } from './ports';
import { watchPeer } from './watchdog';

export interface GmondMetric {
  name: string;
  val: string;
  type: string;
  units: string;
  slope: string;
  tmax: number;
  dmax: number;
  /** EXTRA_DATA: GROUP, TITLE, DESC, SPOOF_HOST. */
  extra: Record<string, string>;
}

export interface GmondHost {
  name: string;
  ip: string;
  metrics: Map<string, GmondMetric>;
}

export interface Gmond {
  udpPort: number;
  tcpPort: number;
  /** The XML gmond serves on its tcp_accept_channel. */
  xml(): Promise<string>;
  /** That XML parsed: every host with its metrics. */
  hosts(): Promise<GmondHost[]>;
  /** gmond's own output (errors about bad packets land here). */
  logs(): string;
  stop(): Promise<void>;
}

function config(udpPort: number, tcpPort: number): string {
  return `globals {
  daemonize = no
  setuid = no
  user = nobody
  debug_level = 0
  max_udp_msg_len = 1472
  mute = yes
  deaf = no
  allow_extra_data = yes
  host_dmax = 0
  host_tmax = 20
  cleanup_threshold = 300
  gexec = no
  send_metadata_interval = 0
}
cluster {
  name = "sparkngin-test"
}
udp_recv_channel {
  bind = 127.0.0.1
  port = ${udpPort}
}
tcp_accept_channel {
  bind = 127.0.0.1
  port = ${tcpPort}
}
`;
}

/** Starts gmond on free ports, or on the given ones (a gmond started again where one was, knowing nothing). */
export async function startGmond(ports: { udpPort?: number; tcpPort?: number } = {}): Promise<Gmond> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-gmond-'));
  const udpPort = ports.udpPort ?? (await freePort());
  const tcpPort = ports.tcpPort ?? (await freePort());
  await writeFile(join(dir, 'gmond.conf'), config(udpPort, tcpPort));
  let output = '';
  const child: ChildProcess = spawn('gmond', ['-c', join(dir, 'gmond.conf'), '-f'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  watchPeer(child.pid!, dir);
  const xml = () => readXml(tcpPort);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`gmond exited (${child.exitCode}): ${output}`);
      return (await xml().catch(() => '')).includes('</GANGLIA_XML>');
    }, 'gmond serves its XML', 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { udpPort, tcpPort, xml, hosts: async () => parseGmondXml(await xml()), logs: () => output, stop };
}

function readXml(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(5_000, () => socket.destroy(new Error('gmond XML: timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/** gmond's XML (its fixed layout: one element a line) → hosts and metrics. */
export function parseGmondXml(xml: string): GmondHost[] {
  const attributes = (tag: string): Record<string, string> => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]));
  const hosts: GmondHost[] = [];
  let host: GmondHost | undefined;
  let metric: GmondMetric | undefined;
  for (const line of xml.split('\n')) {
    if (line.startsWith('<HOST ')) {
      const a = attributes(line);
      host = { name: a.NAME!, ip: a.IP!, metrics: new Map() };
      hosts.push(host);
    } else if (line.startsWith('<METRIC ') && host) {
      const a = attributes(line);
      metric = { name: a.NAME!, val: a.VAL!, type: a.TYPE!, units: a.UNITS ?? '', slope: a.SLOPE ?? '', tmax: Number(a.TMAX), dmax: Number(a.DMAX), extra: {} };
      host.metrics.set(metric.name, metric);
    } else if (line.startsWith('<EXTRA_ELEMENT ') && metric) {
      const a = attributes(line);
      metric.extra[a.NAME!] = a.VAL!;
    }
  }
  return hosts;
}
