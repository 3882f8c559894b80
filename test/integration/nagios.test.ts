// `sparkngin check` run by a real Nagios (Debian's nagios4, test/peers/nagios.ts) through the object
// definitions the packages ship (packaging/assets/nagios/sparkngin.cfg, rendered as the packages
// render it): `nagios4 -v` accepts them; Nagios schedules the shipped commands against a live
// daemon whose ops endpoints need a token: OK; WARNING then CRITICAL as Kafka stays stopped and the
// lag passes the thresholds; the sink CRITICAL; UNKNOWN (lag) and CRITICAL (health) once the daemon
// is gone. Every perfdata item Nagios stored parses.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nagiosConfig } from '../../packaging/render';
import { newToken, tokenSha256 } from '../../src/ingest/auth';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { makeNagios, type Nagios, type ServiceStatus, sparknginHost } from '../peers/nagios';
import { BUNDLE, type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const ROOT = join(BUNDLE, '../..');

/** perfdata as the plugin guidelines define it: 'label'=value[UOM];[warn];[crit];[min];[max], space-separated. */
const PERF_ITEM = /^(?:'(?:[^']|'')+'|[^\s'=]+)=-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:s|ms|us|%|B|KB|MB|TB|c)?(?:;[^;\s]*){0,4}$/;

/** The rendered shipped file, its commands pointing at a `sparkngin` in `dir` that runs the built bundle. */
async function shippedConfig(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'sparkngin'), `#!/bin/sh\nexec '${process.execPath}' '${BUNDLE}' "$@"\n`, { mode: 0o755 });
  const file = join(dir, 'sparkngin.cfg');
  await writeFile(file, nagiosConfig(ROOT, bin, file));
  return file;
}

let kafka: KafkaPeer;
let daemon: DaemonProcess;
let nagios: Nagios;
let dir: string;
const token = newToken();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-nagios-test-'));
  kafka = await startKafka();
  daemon = await startDaemon({
    config: {
      ops: { tokens: [{ name: 'nagios', sha256: tokenSha256(token) }] },
      sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } },
    },
  });
});
afterAll(async () => {
  await nagios?.stop();
  await daemon?.close();
  await kafka?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function perfItems(status: ServiceStatus): string[] {
  return status.perfdata.trim() === '' ? [] : status.perfdata.trim().split(/\s+/);
}

describe('Nagios runs sparkngin check', () => {
  it('accepts the shipped objects (nagios4 -v), then checks a live daemon through them: OK, WARNING, CRITICAL, UNKNOWN', async () => {
    const shipped = await shippedConfig(dir);
    const tokenFile = join(dir, 'ops.token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });

    const service = (template: string, extra = '') => `
define service {
    use                  ${template}
    host_name            ingest-01
    contacts             nobody
    check_interval       2
    retry_interval       2
    max_check_attempts   1
${extra}}
`;
    nagios = await makeNagios({
      cfgFiles: [shipped],
      objects: `
${sparknginHost('ingest-01', { _SPARKNGIN_PORT: String(daemon.port), _SPARKNGIN_OPTIONS: `--timeout 10 --token-file ${tokenFile}` })}${service('sparkngin-health')}
${service('sparkngin-lag', '    check_command        check_sparkngin_lag!50!200\n')}
${service('sparkngin-sinks')}
`,
    });
    const verified = await nagios.verify();
    expect(verified.output).toMatch(/Total Errors:\s+0/);
    expect(verified.code).toBe(0);

    await nagios.start();
    const health = await nagios.waitFor('Sparkngin health', (s) => s.state === 0, 'OK');
    expect(health.output).toBe('SPARKNGIN HEALTH OK - alive and ready');
    const lagOk = await nagios.waitFor('Sparkngin lag', (s) => s.state === 0, 'OK');
    expect(lagOk.output).toMatch(/^SPARKNGIN LAG OK - lag in records: kafka 0 behind$/);
    expect(lagOk.perfdata).toBe('lag_kafka=0;50;200;0');
    const sinksOk = await nagios.waitFor('Sparkngin sinks', (s) => s.state === 0, 'OK');
    expect(sinksOk.output).toMatch(/^SPARKNGIN SINKS OK - kafka (up|starting)$/);

    // Kafka stops and stays stopped: what is acknowledged waits in the spool and the lag grows.
    await kafka.stop();
    const post = async (count: number) => {
      const answer = await postEvents(daemon.url, 'orders', Array.from({ length: count }, (_, i) => ({ i })));
      expect(answer.status).toBe(202);
    };
    await post(100);
    const warning = await nagios.waitFor('Sparkngin lag', (s) => s.state === 1, 'WARNING (lag past 50)');
    expect(warning.output).toMatch(/^SPARKNGIN LAG WARNING - lag in records: kafka 100 behind \(WARNING\)$/);
    await post(150);
    const critical = await nagios.waitFor('Sparkngin lag', (s) => s.state === 2, 'CRITICAL (lag past 200)');
    expect(critical.perfdata).toBe('lag_kafka=250;50;200;0');
    const sinkDown = await nagios.waitFor('Sparkngin sinks', (s) => s.state === 2, 'CRITICAL (kafka down)');
    expect(sinkDown.output).toMatch(/^SPARKNGIN SINKS CRITICAL - kafka down/);

    // The daemon is gone: the lag cannot be known (UNKNOWN); the health check says it is down.
    await daemon.kill();
    const unknown = await nagios.waitFor('Sparkngin lag', (s) => s.state === 3, 'UNKNOWN (daemon unreachable)');
    expect(unknown.output).toMatch(/^SPARKNGIN LAG UNKNOWN - .*connection refused$/);
    const down = await nagios.waitFor('Sparkngin health', (s) => s.state === 2, 'CRITICAL (daemon down)');
    expect(down.output).toMatch(/^SPARKNGIN HEALTH CRITICAL - .*connection refused$/);

    for (const status of [health, lagOk, warning, critical, sinksOk, sinkDown]) {
      const items = perfItems(status);
      expect(items.length, `${status.service}: perfdata`).toBeGreaterThan(0);
      for (const item of items) expect(item, `${status.service}: ${status.perfdata}`).toMatch(PERF_ITEM);
    }
    expect(await nagios.log()).toMatch(/SERVICE ALERT: ingest-01;Sparkngin lag;CRITICAL;HARD/);
  }, 300_000);
});
