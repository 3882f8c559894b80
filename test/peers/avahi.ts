// Debian's avahi on a host of a test LAN (netns.ts), as an independent mDNS/DNS-SD peer: its own
// D-Bus system bus (a private dbus-daemon with its own config and socket; DBUS_SYSTEM_BUS_ADDRESS
// points avahi and its tools at it) and its own avahi-daemon (own config file, no privilege drop, no
// chroot, its pid file on a tmpfs mounted inside the mount namespace `ip netns exec` gives it, so
// that avahi-daemons of several hosts do not find each other's pid file). The machine's own
// avahi-daemon and system bus are neither needed nor touched.
// `browse()` runs avahi-browse and parses its resolved lines; `publish()` runs avahi-publish.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../wait';
import type { NetnsHost } from './netns';

export interface AvahiService {
  iface: string;
  name: string;
  type: string;
  hostName: string;
  address: string;
  port: number;
  /** TXT strings as avahi-browse prints them (`key=value`). */
  txt: string[];
}

export interface Avahi {
  /** Resolved services of `type` avahi sees now (avahi-browse -rpt). */
  browse(type: string): Promise<AvahiService[]>;
  /** Waits until `browse(type)` shows a service that `match` accepts. */
  seen(type: string, match: (service: AvahiService) => boolean, timeoutMs?: number): Promise<AvahiService>;
  /** avahi-publish -s: advertises a service until stop() (which withdraws it); `name` is the one avahi established (another after a conflict). */
  publish(name: string, type: string, port: number, txt: string[]): Promise<{ name: string; stop(): Promise<void> }>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startAvahi(host: NetnsHost): Promise<Avahi> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-avahi-'));
  const socket = join(dir, 'system_bus_socket');
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };
  await writeFile(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  await writeFile(
    join(dir, 'avahi-daemon.conf'),
    `[server]
host-name=avahi-${host.hostname}
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=${host.iface}
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`,
  );
  const children: ChildProcess[] = [];
  let output = '';
  const track = (child: ChildProcess) => {
    children.push(child);
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  };
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    track(host.spawn('dbus-daemon', [`--config-file=${join(dir, 'bus.conf')}`, '--nofork', '--nopidfile'], { stdio: ['ignore', 'pipe', 'pipe'], env }));
    await until(async () => (await host.exec('dbus-send', ['--system', '--dest=org.freedesktop.DBus', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames'], { env, timeoutMs: 5000 })).code === 0, 'the private D-Bus answers', 20_000);
    const daemonLine = `mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon -f ${join(dir, 'avahi-daemon.conf')} --no-drop-root --no-chroot --no-rlimits`;
    track(host.spawn('sh', ['-c', daemonLine], { stdio: ['ignore', 'pipe', 'pipe'], env }));
    await until(() => output.includes('Server startup complete'), `avahi-daemon on ${host.hostname} started:\n${output}`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }

  const browse = async (type: string) => {
    const ran = await host.exec('avahi-browse', ['--resolve', '--parsable', '--terminate', '--no-db-lookup', type], { env, timeoutMs: 30_000 });
    return ran.stdout
      .split('\n')
      .filter((line) => line.startsWith('='))
      .map(parseResolved);
  };
  return {
    browse,
    async seen(type, match, timeoutMs = 30_000) {
      let found: AvahiService | undefined;
      await until(async () => (found = (await browse(type)).find(match)) !== undefined, `avahi-browse on ${host.hostname} shows the ${type} service`, timeoutMs);
      return found!;
    },
    async publish(name, type, port, txt) {
      const child = track(host.spawn('avahi-publish', ['--service', name, type, String(port), ...txt], { stdio: ['ignore', 'pipe', 'pipe'], env }));
      let own = '';
      child.stdout!.on('data', (chunk: Buffer) => (own += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (own += chunk.toString()));
      let established: RegExpExecArray | null = null;
      await until(() => (established = /Established under name '([^']*)'/.exec(own)) !== null, `avahi-publish established ${name}:\n${own}`, 30_000);
      return {
        name: established![1]!,
        async stop() {
          child.kill('SIGTERM');
          await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
        },
      };
    },
    logs: () => output,
    stop,
  };
}

/** One `=;iface;proto;name;type;domain;host;address;port;"txt" "txt"` line of avahi-browse -p. */
function parseResolved(line: string): AvahiService {
  const fields = line.split(';');
  const txt = fields.slice(9).join(';');
  return {
    iface: fields[1]!,
    name: unescapeLabel(fields[3]!),
    type: fields[4]!,
    hostName: fields[6]!,
    address: fields[7]!,
    port: Number(fields[8]),
    txt: [...txt.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => unescapeLabel(match[1]!)),
  };
}

/** avahi's escapes: `\032` (a decimal byte) and `\.` / `\\`. */
function unescapeLabel(text: string): string {
  return text.replace(/\\(\d{3}|.)/g, (_, escaped: string) => (escaped.length === 3 ? String.fromCharCode(Number(escaped)) : escaped));
}
