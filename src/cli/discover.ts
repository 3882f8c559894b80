// `sparkngin discover`: the instances advertised on the LAN (src/discovery/browse.ts), as a table or
// JSON, each probed with GET /health; with --watch, joins, changes and leaves as they happen.
import { type DiscoveredInstance, discoverInstances, watchInstances, type WatchEvent } from '../discovery/browse';
import { Limiter, probeReachability } from '../discovery/reachability';
import { type Command, parseOptions, UsageError } from './command';

const USAGE = `Usage: sparkngin discover [--timeout DURATION] [--json] [--watch] [--interface NAME]... [--no-probe]

Lists the Sparkngin instances advertised on the LAN over mDNS/DNS-SD (_sparkngin._tcp): name, host,
addresses, port, a summary of the TXT record, and whether GET /health answers (reachable).

  --timeout DURATION   how long to listen: 3 (seconds), 500ms, 2s (default 3s); with --watch, how
                       long to watch (default: until interrupted)
  --json               JSON: an array of instances; with --watch, one line per event
                       ({"event":"join|update|leave","instance":{...}})
  --watch              print joins (+), changes (~) and leaves (-) until Ctrl-C
  --interface NAME     browse on this interface only (repeatable; default: all but loopback)
  --no-probe           do not probe GET /health

Instances whose advertisement cannot be used (bad TXT data) are named on standard error.
Exit status: 0 done (also when none was found), 1 no interface to browse on, 2 usage error.
`;

const OPTIONS = {
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  interface: { type: 'string', multiple: true },
  'no-probe': { type: 'boolean' },
} as const;

/** Probes running at once in --watch mode, each for one instance's URLs. */
const WATCH_PROBES = 16;

export const discoverCommand: Command = {
  name: 'discover',
  summary: [['discover', 'list the instances advertised on the LAN (--watch: follow them)']],
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, OPTIONS, USAGE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, USAGE);
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
    const interfaces = values.interface ?? [];
    const probe = values['no-probe'] !== true;
    const json = values.json === true;
    const onSkipped = (name: string, why: string) => process.stderr.write(`sparkngin: skipped '${name}': ${why}\n`);
    if (values.watch === true) return watch({ interfaces, probe, json, timeoutMs, onSkipped });
    const found = await discoverInstances({ interfaces, probe, timeoutMs: timeoutMs ?? 3000, onSkipped });
    process.stdout.write(json ? `${JSON.stringify(found, null, 2)}\n` : formatTable(found));
    return 0;
  },
};

/** `3` (seconds), `2.5s`, `500ms` → ms. */
function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (match[2] === 'ms' ? 1 : 1000) : NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 24 * 3600 * 1000) throw new UsageError(`--timeout: expected a duration such as 3, 2s or 500ms, got '${text}'`, USAGE);
  return ms;
}

interface WatchOptions {
  interfaces: string[];
  probe: boolean;
  json: boolean;
  timeoutMs: number | undefined;
  onSkipped: (name: string, why: string) => void;
}

async function watch(options: WatchOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(onSignal, options.timeoutMs);
  const browser = watchInstances({ interfaces: options.interfaces, signal: stop.signal });
  browser.on('skipped', options.onSkipped);
  if (!options.json) process.stdout.write(`watching for _sparkngin._tcp on the LAN (Ctrl-C to stop)\n`);
  // Each instance's events stay in order; probes of different instances run side by side, a few at once.
  const perInstance = new Map<string, Promise<void>>();
  const probes = new Limiter(WATCH_PROBES);
  for await (const event of browser) {
    const key = event.instance.name;
    const previous = perInstance.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      const instance = options.probe && event.type !== 'leave' ? await probes.run(() => probeReachability([event.instance], { signal: stop.signal }).then(([probed]) => probed!)) : event.instance;
      process.stdout.write(options.json ? `${JSON.stringify({ event: event.type, instance })}\n` : formatEvent(event.type, instance));
    });
    perInstance.set(key, next);
    void next.finally(() => {
      if (perInstance.get(key) === next) perInstance.delete(key);
    });
  }
  await Promise.all(perInstance.values());
  clearTimeout(timer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}

const MARK: Record<WatchEvent['type'], string> = { join: '+', update: '~', leave: '-' };

function formatEvent(type: WatchEvent['type'], instance: DiscoveredInstance): string {
  const [row] = rows([instance]);
  return `${MARK[type]} ${type.padEnd(6)} ${row!.join('  ')}\n`;
}

const HEADERS = ['NAME', 'HOST', 'ADDRESSES', 'PORT', 'TXT', 'REACHABLE'];

export function formatTable(instances: readonly DiscoveredInstance[]): string {
  if (instances.length === 0) return 'no Sparkngin instance found on the LAN\n';
  const table = [HEADERS, ...rows(instances)];
  const widths = HEADERS.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const lines = table.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
  return `${lines.join('\n')}\n${instances.length} instance${instances.length === 1 ? '' : 's'}\n`;
}

function rows(instances: readonly DiscoveredInstance[]): string[][] {
  return instances.map((instance) => [
    instance.name,
    instance.host,
    instance.addresses.length > 0 ? instance.addresses.join(',') : '-',
    String(instance.port),
    txtSummary(instance),
    instance.reachable === undefined ? '-' : instance.reachable ? 'yes' : 'no',
  ]);
}

/** The TXT facts that matter to a person: version, protocol and path, ingest, token, id (shortened). */
function txtSummary(instance: DiscoveredInstance): string {
  const parts = [
    instance.version === undefined ? undefined : `v${instance.version}`,
    `${instance.proto} ${instance.basePath}`,
    `ingest=${instance.ingest.join(',')}`,
    instance.tokenRequired ? 'token required' : 'no token',
    instance.instanceId === undefined ? undefined : `id=${instance.instanceId.slice(0, 8)}`,
  ];
  return parts.filter((part) => part !== undefined).join(' ');
}
