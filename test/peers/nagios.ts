// Debian's Nagios Core 4 (nagios4-core) as a test peer: a main config of the test's own (every file
// and socket in a temp dir, run as the test's user, no syslog, no notifications, interval_length=1
// so that check intervals are in seconds) around the object files under test. `verify()` is
// `nagios4 -v`, the pre-flight check an operator runs; `start()` runs Nagios itself, which then
// schedules the checks; `service()` reads their results from status.dat, as the web UI does.
// The package's own Nagios never runs (policy-rc.d).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../wait';
import { watchPeer } from './watchdog';

/** Objects every test config needs besides what it tests: a time period and a contact that is never notified. */
export const BASE_OBJECTS = `
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    notify-nobody
    command_line    /bin/true
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    notify-nobody
    service_notification_commands notify-nobody
}
`;

/** A host of the `sparkngin-host` template (the shipped objects), checked by nobody, with these extra directives. */
export function sparknginHost(name: string, extra: Record<string, string> = {}): string {
  const lines = Object.entries({ use: 'sparkngin-host', host_name: name, address: '127.0.0.1', max_check_attempts: '1', check_period: '24x7', contacts: 'nobody', ...extra });
  return `define host {\n${lines.map(([key, value]) => `    ${key.padEnd(20)} ${value}`).join('\n')}\n}\n`;
}

export interface ServiceStatus {
  host: string;
  service: string;
  /** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
  state: number;
  output: string;
  perfdata: string;
  /** Seconds since the epoch of the last check (0: not checked yet). */
  lastCheck: number;
}

export interface Nagios {
  dir: string;
  /** `nagios4 -v`: exit code and output. */
  verify(): Promise<{ code: number | null; output: string }>;
  start(): Promise<void>;
  /** Every service's status from status.dat. */
  services(): Promise<ServiceStatus[]>;
  /** Waits until the service has been checked and its status satisfies `match`. */
  waitFor(service: string, match: (status: ServiceStatus) => boolean, what: string, timeoutMs?: number): Promise<ServiceStatus>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function makeNagios(options: { objects: string; cfgFiles?: string[] }): Promise<Nagios> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-nagios-'));
  await mkdir(join(dir, 'checkresults'));
  await writeFile(join(dir, 'objects.cfg'), BASE_OBJECTS + options.objects);
  await writeFile(join(dir, 'resource.cfg'), '$USER1$=/usr/lib/nagios/plugins\n');
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'nobody');
  const main = join(dir, 'nagios.cfg');
  await writeFile(
    main,
    [
      `log_file=${dir}/nagios.log`,
      ...(options.cfgFiles ?? []).map((file) => `cfg_file=${file}`),
      `cfg_file=${dir}/objects.cfg`,
      `object_cache_file=${dir}/objects.cache`,
      `precached_object_file=${dir}/objects.precache`,
      `resource_file=${dir}/resource.cfg`,
      `status_file=${dir}/status.dat`,
      'status_update_interval=1',
      `nagios_user=${user}`,
      `nagios_group=${user}`,
      'check_external_commands=1',
      `command_file=${dir}/nagios.cmd`,
      `lock_file=${dir}/nagios.pid`,
      `temp_file=${dir}/nagios.tmp`,
      `temp_path=${dir}`,
      `check_result_path=${dir}/checkresults`,
      'retain_state_information=0',
      `state_retention_file=${dir}/retention.dat`,
      'interval_length=1',
      'use_syslog=0',
      'enable_notifications=0',
      'check_result_reaper_frequency=1',
      'max_service_check_spread=1',
      'max_host_check_spread=1',
      'execute_host_checks=0',
      'check_for_updates=0',
      'illegal_macro_output_chars=`~$&|<>',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const services = async () => parseStatus(await readFile(join(dir, 'status.dat'), 'utf8').catch(() => ''));
  return {
    dir,
    verify: () =>
      new Promise((resolve) => {
        const check = spawn('nagios4', ['-v', main], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        check.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
        check.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
        check.on('close', (code) => resolve({ code, output: text }));
      }),
    async start() {
      // Its own process group: stop() ends Nagios and its check workers together.
      child = spawn('nagios4', [main], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const started = child;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      watchPeer(child.pid!, dir);
      await until(async () => {
        if (started.exitCode !== null) throw new Error(`nagios4 exited (${started.exitCode}): ${output}`);
        return (await services()).length > 0;
      }, 'Nagios writes its status file', 30_000);
    },
    services,
    async waitFor(service, match, what, timeoutMs = 90_000) {
      let found: ServiceStatus | undefined;
      await until(async () => {
        found = (await services()).find((status) => status.service === service);
        return found !== undefined && found.lastCheck > 0 && match(found);
      }, `Nagios shows ${service} ${what}`, timeoutMs).catch(async (error: Error) => {
        throw new Error(`${error.message}; last status: ${JSON.stringify(found)}`);
      });
      return found!;
    },
    log: () => readFile(join(dir, 'nagios.log'), 'utf8').catch(() => ''),
    async stop() {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // gone already
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child!.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** status.dat's `servicestatus { key=value … }` blocks. */
function parseStatus(text: string): ServiceStatus[] {
  const statuses: ServiceStatus[] = [];
  for (const block of text.matchAll(/servicestatus \{\n([\s\S]*?)\n\t\}/g)) {
    const fields = new Map<string, string>();
    for (const line of block[1]!.split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1));
    }
    statuses.push({
      host: fields.get('host_name') ?? '',
      service: fields.get('service_description') ?? '',
      state: Number(fields.get('current_state')),
      output: fields.get('plugin_output') ?? '',
      perfdata: fields.get('performance_data') ?? '',
      lastCheck: Number(fields.get('last_check') ?? 0),
    });
  }
  return statuses;
}
