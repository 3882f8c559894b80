// A LAN of test hosts in network namespaces, for everything that multicasts (mDNS, Ganglia) or must
// cross a network: `createLan(n)` makes n hosts, each a namespace with one interface `lan0`
// (198.18.0.<i+1>/24, the benchmarking range no real network uses) and the route 224.0.0.0/4 on it,
// all joined by a bridge in a switch namespace of their own.
//
// No packet can reach the machine's real network, by construction: every veth pair is created with
// both ends already inside test namespaces (`ip link add lan0 netns H type veth peer name pN netns
// SW`), so no interface of the default namespace ever takes part, and a process sees the LAN only
// when it is started through `host.spawn()` (`ip netns exec`). The test `netns.test.ts` checks it.
//
// Each process started on a host also gets a UTS namespace with the host's name (h1, h2, …), so
// that two "machines" of one LAN differ in host name as real ones do (mDNS host records, the
// default instance name).
//
// Clean-up: close() kills what runs in the namespaces and deletes them. If the test process dies
// before it can (a crash, a SIGKILL of the vitest worker), a watchdog (a detached shell polling the
// test process's pid) does it. Namespaces left by a watchdog that died too (the machine stopped)
// are deleted by the next createLan, which recognises them by the dead pid in their names.
import { type ChildProcess, execFile, spawn, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PREFIX = 'spk';
let lans = 0;

export interface NetnsHost {
  /** Namespace name. */
  ns: string;
  /** Host name of the processes started here (h1, h2, …). */
  hostname: string;
  /** The LAN interface inside the namespace. */
  iface: string;
  /** Its IPv4 address. */
  address: string;
  /** Starts `command` inside the namespace, with the host's name. */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs `command` there to its end (stdout, stderr, exit code); killed after `timeoutMs`. */
  exec(command: string, args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** `ip -n NS ARGS…`: changes the host's network (add an address, take the link down). */
  ip(...args: string[]): Promise<string>;
}

export interface Lan {
  hosts: NetnsHost[];
  /** An address on the LAN that no host has: connections to it go unanswered. */
  unusedAddress: string;
  /** The namespaces, switch included. */
  namespaces: string[];
  close(): Promise<void>;
}

export async function createLan(count: number): Promise<Lan> {
  await removeStale();
  const id = `${PREFIX}${process.pid}-${++lans}`;
  const switchNs = `${id}-sw`;
  const hostNs = Array.from({ length: count }, (_, index) => `${id}-h${index + 1}`);
  const namespaces = [switchNs, ...hostNs];
  const watchdog = startWatchdog(namespaces);
  const close = async () => {
    watchdog.kill('SIGKILL');
    await removeNamespaces(namespaces);
  };
  try {
    for (const ns of namespaces) await run('ip', ['netns', 'add', ns]);
    await ipIn(switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    // IGMP snooping off: the bridge floods multicast to every port, as a small office switch does.
    await ipIn(switchNs, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await ipIn(switchNs, 'link', 'set', 'br0', 'up');
    const hosts = await Promise.all(hostNs.map((ns, index) => makeHost(ns, switchNs, index)));
    return { hosts, unusedAddress: '198.18.0.250', namespaces, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function makeHost(ns: string, switchNs: string, index: number): Promise<NetnsHost> {
  const port = `p${index + 1}`;
  const address = `198.18.0.${index + 1}`;
  const hostname = `h${index + 1}`;
  await run('ip', ['link', 'add', 'lan0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs]);
  await ipIn(switchNs, 'link', 'set', port, 'master', 'br0', 'up');
  await ipIn(ns, 'link', 'set', 'lo', 'up');
  await ipIn(ns, 'addr', 'add', `${address}/24`, 'dev', 'lan0');
  await ipIn(ns, 'link', 'set', 'lan0', 'up');
  await ipIn(ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lan0');
  // `ip netns exec` gives the process the namespace's network; unshare --uts gives it the host's name.
  const line = (command: string, args: readonly string[]) => ['netns', 'exec', ns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', hostname, command, ...args];
  return {
    ns,
    hostname,
    iface: 'lan0',
    address,
    spawn: (command, args, options = {}) => spawn('ip', line(command, args), options),
    exec: (command, args, options = {}) =>
      new Promise((resolve) => {
        const child = spawn('ip', line(command, args), { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      }),
    ip: (...args) => ipIn(ns, ...args),
  };
}

async function ipIn(ns: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['-n', ns, ...args]);
  return stdout;
}

/** Kills every process inside the namespaces, then deletes them. */
async function removeNamespaces(namespaces: readonly string[]): Promise<void> {
  for (const ns of namespaces) {
    const pids = await run('ip', ['netns', 'pids', ns]).then(
      ({ stdout }) => stdout.split(/\s+/).filter(Boolean).map(Number),
      () => [],
    );
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

/** A detached shell that cleans up after this process if it dies without doing so. */
function startWatchdog(namespaces: readonly string[]): ChildProcess {
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
    for ns in ${namespaces.join(' ')}; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    for ns in ${namespaces.join(' ')}; do ip netns del "$ns" 2>/dev/null; done`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

/** Namespaces of earlier runs whose test process and watchdog are both gone. */
async function removeStale(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  const stale = stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => {
      const owner = new RegExp(`^${PREFIX}(\\d+)-\\d+-(?:sw|h\\d+)$`).exec(name);
      return owner !== null && !alive(Number(owner[1]));
    });
  if (stale.length > 0) await removeNamespaces(stale);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
