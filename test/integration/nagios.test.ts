// `sparkngin check` run by a real Nagios (Debian's nagios4, test/peers/nagios.ts) through the object
// definitions the packages ship (packaging/assets/nagios/sparkngin.cfg, rendered as the packages
// render it): `nagios4 -v` accepts them; Nagios schedules the shipped commands against a live
// daemon whose ops endpoints need a token and whose heartbeats go to a real Kafka: all OK; WARNING
// then CRITICAL as Kafka stays stopped and the lag passes the thresholds, the sink CRITICAL, the
// heartbeat UNKNOWN (Kafka cannot be read); all OK again once Kafka is back; once the daemon is
// gone, the lag UNKNOWN, the health CRITICAL, and the heartbeat WARNING then CRITICAL as it ages.
// Every perfdata item Nagios stored parses.
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
      host: 'ingest-01',
      heartbeat: { enabled: true, intervalSeconds: 1 },
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
  it('accepts the shipped objects (nagios4 -v), then checks a live daemon through them: OK, WARNING, CRITICAL, UNKNOWN, heartbeat age from Kafka', async () => {
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
${sparknginHost('ingest-01', { _SPARKNGIN_PORT: String(daemon.port), _SPARKNGIN_OPTIONS: `--timeout 10 --token-file ${tokenFile}`, _SPARKNGIN_BROKERS: kafka.brokers })}${service('sparkngin-health')}
${service('sparkngin-lag', '    check_command        check_sparkngin_lag!50!200\n')}
${service('sparkngin-sinks')}
${service('sparkngin-spool')}
${service('sparkngin-heartbeat', '    check_command        check_sparkngin_heartbeat!8!15\n')}
`,
    });
    const verified = await nagios.verify();
    expect(verified.output).toMatch(/Total Errors:\s+0/);
    expect(verified.code).toBe(0);

    await nagios.start();
    const health = await nagios.waitFor('Sparkngin health', (s) => s.state === 0, 'OK');
    expect(health.output).toBe('SPARKNGIN HEALTH OK - alive and ready');
    const lagOk = await nagios.waitFor('Sparkngin lag', (s) => s.state === 0, 'OK');
    expect(lagOk.output).toMatch(/^SPARKNGIN LAG OK - lag in records: kafka \d+ behind$/);
    expect(lagOk.perfdata).toMatch(/^lag_kafka=\d+;50;200;0$/);
    const sinksOk = await nagios.waitFor('Sparkngin sinks', (s) => s.state === 0, 'OK');
    expect(sinksOk.output).toMatch(/^SPARKNGIN SINKS OK - kafka (up|starting)$/);
    const spoolOk = await nagios.waitFor('Sparkngin spool', (s) => s.state === 0, 'OK');
    expect(spoolOk.output).toMatch(/^SPARKNGIN SPOOL OK - [\d.]+% of 10\.0 GiB used \(/);
    expect(spoolOk.perfdata).toMatch(/^spool_used=[\d.]+%;80;90;0;100 spool_bytes=\d+B;;;0;10737418240$/);
    const beatOk = await nagios.waitFor('Sparkngin heartbeat', (s) => s.state === 0, 'OK');
    expect(beatOk.output).toMatch(/^SPARKNGIN HEARTBEAT OK - last heartbeat of [0-9a-f-]{36} is [\d.]+ s old/);

    // Kafka stops and stays stopped: what is acknowledged waits in the spool and the lag grows.
    await kafka.stop();
    const post = async (count: number) => {
      const answer = await postEvents(daemon.url, 'orders', Array.from({ length: count }, (_, i) => ({ i })));
      expect(answer.status).toBe(202);
    };
    // (The heartbeats, one a second, wait with the events.)
    const lagOf = (status: ServiceStatus) => Number(/lag_kafka=(\d+)/.exec(status.perfdata)![1]);
    await post(100);
    const warning = await nagios.waitFor('Sparkngin lag', (s) => s.state === 1, 'WARNING (lag past 50)');
    expect(warning.output).toMatch(/^SPARKNGIN LAG WARNING - lag in records: kafka \d+ behind \(WARNING\)$/);
    expect(lagOf(warning)).toBeGreaterThanOrEqual(100);
    await post(150);
    const critical = await nagios.waitFor('Sparkngin lag', (s) => s.state === 2, 'CRITICAL (lag past 200)');
    expect(lagOf(critical)).toBeGreaterThanOrEqual(250);
    const sinkDown = await nagios.waitFor('Sparkngin sinks', (s) => s.state === 2, 'CRITICAL (kafka down)');
    expect(sinkDown.output).toMatch(/^SPARKNGIN SINKS CRITICAL - kafka down/);
    // Where the heartbeats are cannot be read: the check cannot know.
    await nagios.waitFor('Sparkngin heartbeat', (s) => s.state === 3, 'UNKNOWN (Kafka away)');

    // Kafka is back: the backlog is delivered, the heartbeats flow again.
    await kafka.restart();
    await nagios.waitFor('Sparkngin lag', (s) => s.state === 0, 'OK again');
    await nagios.waitFor('Sparkngin sinks', (s) => s.state === 0, 'OK again');
    await nagios.waitFor('Sparkngin heartbeat', (s) => s.state === 0, 'OK again');

    // The daemon is gone: the lag cannot be known (UNKNOWN); the health check says it is down.
    await daemon.kill();
    const unknown = await nagios.waitFor('Sparkngin lag', (s) => s.state === 3, 'UNKNOWN (daemon unreachable)');
    // Refused, or reset when the kill lands while a check is connected.
    expect(unknown.output).toMatch(/^SPARKNGIN LAG UNKNOWN - .*connection (refused|reset)$/);
    const down = await nagios.waitFor('Sparkngin health', (s) => s.state === 2, 'CRITICAL (daemon down)');
    expect(down.output).toMatch(/^SPARKNGIN HEALTH CRITICAL - .*connection (refused|reset)$/);
    // No more heartbeats: the last one ages past 8 s, then past 15 s.
    const beatWarning = await nagios.waitFor('Sparkngin heartbeat', (s) => s.state === 1, 'WARNING (heartbeat older than 8 s)');
    const beatCritical = await nagios.waitFor('Sparkngin heartbeat', (s) => s.state === 2, 'CRITICAL (heartbeat older than 15 s)');
    expect(beatCritical.output).toMatch(/^SPARKNGIN HEARTBEAT CRITICAL - last heartbeat of [0-9a-f-]{36} is [\d.]+ s old/);

    for (const status of [health, lagOk, warning, critical, sinksOk, sinkDown, spoolOk, beatOk, beatWarning, beatCritical]) {
      const items = perfItems(status);
      expect(items.length, `${status.service}: perfdata`).toBeGreaterThan(0);
      for (const item of items) expect(item, `${status.service}: ${status.perfdata}`).toMatch(PERF_ITEM);
    }
    expect(await nagios.log()).toMatch(/SERVICE ALERT: ingest-01;Sparkngin lag;CRITICAL;HARD/);
  }, 300_000);
});
