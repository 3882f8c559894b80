// `sparkngin agent` as a process watching real daemons: an instance killed with SIGKILL is flagged
// (never before agent.lateAfterSeconds) and cleared once it is back, seen by polling and, through a
// real Kafka, by its heartbeats alone; a sink that cannot reach its
// Kafka is flagged down and its growing lag too; the findings reach another daemon as events (its
// file sink writes them); `sparkngin check agent` turns the fleet view into Nagios states; the fleet
// page, in Debian's Chromium, shows the killed instance flagged and then well again (screenshot in
// test-results/).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FleetView, InstanceView } from '../../src/agent/fleet';
import { launchChromium, resultPath, shown } from '../peers/chromium';
import { consumeAll } from '../peers/consume';
import { startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { BUNDLE, type DaemonProcess, postEvents, startDaemon } from './daemon-process';

const run = promisify(execFile);
const LATE_SECONDS = 2;

interface AgentProcess {
  url: string;
  fleet(): Promise<FleetView>;
  logs(): string;
  stop(): Promise<void>;
}

async function startAgent(agent: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<AgentProcess> {
  const port = await freePort();
  const file = join(tmpdir(), `sparkngin-agent-${port}.yaml`);
  await writeFile(file, stringify({ ...extra, agent: { listen: `127.0.0.1:${port}`, pollIntervalMs: 200, lateAfterSeconds: LATE_SECONDS, lagGrowthPolls: 3, ...agent } }));
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [BUNDLE, 'agent', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const fleet = async () => (await (await fetch(`${url}/fleet`)).json()) as FleetView;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}): ${output}`);
    return fleet().then(
      () => true,
      () => false,
    );
  }, 'the agent serves its fleet view', 20_000);
  return {
    url,
    fleet,
    logs: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(file, { force: true });
    },
  };
}

async function instance(agent: AgentProcess, url: string): Promise<InstanceView> {
  const found = (await agent.fleet()).instances.find((each) => each.url === url);
  if (found === undefined) throw new Error(`the agent does not show ${url}`);
  return found;
}

/** `sparkngin check agent`: exit code and status line. */
async function checkAgent(url: string): Promise<{ code: number; out: string }> {
  return run(process.execPath, [BUNDLE, 'check', 'agent', '--url', url]).then(
    ({ stdout }) => ({ code: 0, out: stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
  );
}

let watched: DaemonProcess;
let reporter: DaemonProcess;
let stuck: DaemonProcess;
beforeAll(async () => {
  const deadBroker = `127.0.0.1:${await freePort()}`;
  [watched, reporter, stuck] = await Promise.all([
    startDaemon(),
    startDaemon(),
    startDaemon({ config: { sinks: { file: { enabled: false }, kafka: { brokers: [deadBroker], connectionTimeoutMs: 200, retry: { initialMs: 100, maxMs: 500 } } } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([watched, reporter, stuck].map((daemon) => daemon?.close()));
});

describe('sparkngin agent', () => {
  it('flags an instance killed with SIGKILL after its lateness, clears it when it is back, and reports both as events', async () => {
    const agent = await startAgent({ instances: [watched.url, reporter.url], eventsUrl: reporter.url, eventsTopic: 'findings' });
    const browser = await launchChromium();
    try {
      await until(async () => (await agent.fleet()).instances.every((each) => each.lastAnswerAgeSeconds !== undefined && each.state === 'ok'), 'both instances answer and are OK');
      expect(await checkAgent(agent.url)).toEqual({ code: 0, out: 'SPARKNGIN AGENT OK - 2 instance(s) watched, none flagged | instances=2;;;0 flagged=0;;;0\n' });
      const page = await browser.newPage({ viewport: { width: 1200, height: 400 } });
      await page.goto(agent.url);
      expect(await shown(page, '#health', (text) => text === 'all ok')).toBe('all ok');
      expect(await page.locator('#instances tr').count()).toBe(2);

      // When the instance last answered, at the latest (the view's age is rounded to 0.1 s): the
      // lateness runs from there, not from the kill, which comes up to a poll later.
      const asked = Date.now();
      const lastAnswerAt = asked - (await instance(agent, watched.url)).lastAnswerAgeSeconds! * 1000 - 50;
      await watched.kill();
      await until(async () => (await instance(agent, watched.url)).state === 'critical', 'the killed instance is flagged');
      const flagged = await instance(agent, watched.url);
      expect(flagged.findings.map((finding) => finding.kind)).toEqual(['unreachable']);
      // Never before the lateness: an instance is not flagged for one missed poll.
      expect(Date.parse(flagged.findings[0]!.since) - lastAnswerAt).toBeGreaterThanOrEqual(LATE_SECONDS * 1000);
      expect((await instance(agent, reporter.url)).state).toBe('ok');
      const critical = await checkAgent(agent.url);
      expect(critical.code).toBe(2);
      expect(critical.out).toMatch(/^SPARKNGIN AGENT CRITICAL - 1 of 2 instance\(s\) flagged: .*no answer for [\d.]+ s: .*connection (refused|reset)/);
      // The page: the flagged instance first, red, with its finding; the other one well.
      await shown(page, '#health', (text) => text === '1 of 2 flagged');
      expect(await page.locator('#health').getAttribute('class')).toContain('bad');
      const row = page.locator(`tr[data-instance="${watched.url}"]`);
      expect(await row.locator('.state').textContent()).toBe('critical');
      expect(await row.locator('.findings').textContent()).toMatch(/^no answer for [\d.]+ s: .*connection (refused|reset)/);
      expect(await page.locator('#instances tr').first().getAttribute('data-instance')).toBe(watched.url);
      expect(await page.locator(`tr[data-instance="${reporter.url}"] .state`).textContent()).toBe('ok');
      await page.screenshot({ path: resultPath('agent-fleet-page.png') });

      await watched.restart();
      await until(async () => (await instance(agent, watched.url)).state === 'ok', 'the instance that came back is cleared');
      expect((await checkAgent(agent.url)).code).toBe(0);
      expect(await shown(page, '#health', (text) => text === 'all ok')).toBe('all ok');
      expect(await page.locator(`tr[data-instance="${watched.url}"] .findings`).textContent()).toBe('');

      // Both findings reached the reporting daemon as events (its file sink wrote them).
      const file = join(reporter.dataDir, 'out', 'findings.ndjson');
      await until(async () => (await readFile(file, 'utf8').catch(() => '')).includes('finding.cleared'), 'the findings are in the reporter\'s file sink');
      const events = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { data: { type: string; instance: { url: string }; finding: { kind: string } } });
      expect(events.map((event) => [event.data.type, event.data.instance.url, event.data.finding.kind])).toEqual([
        ['finding.raised', watched.url, 'unreachable'],
        ['finding.cleared', watched.url, 'unreachable'],
      ]);
      expect(agent.logs()).toMatch(/"event":"agent.finding_raised".*"kind":"unreachable"/);
    } finally {
      await browser.close();
      await agent.stop();
    }
  });

  it('flags a sink that is down and a lag that keeps growing; the lag finding clears when the lag stops growing', async () => {
    const agent = await startAgent({ instances: [stuck.url] });
    try {
      // Events keep coming while the broker is unreachable: the lag grows at every poll.
      let posting = true;
      const poster = (async () => {
        while (posting) {
          await postEvents(stuck.url, 'orders', [{ at: Date.now() }]);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await until(async () => {
        const kinds = (await instance(agent, stuck.url)).findings.map((finding) => finding.kind).sort();
        return kinds.includes('sink-down') && kinds.includes('lag-growing');
      }, 'the agent flags the Kafka sink down and its lag growing');
      posting = false;
      await poster;
      const seen = await instance(agent, stuck.url);
      expect(seen.findings.find((finding) => finding.kind === 'sink-down')).toMatchObject({ severity: 'critical', sink: 'kafka' });
      expect(seen.findings.find((finding) => finding.kind === 'lag-growing')).toMatchObject({ severity: 'warning', sink: 'kafka' });
      // Once no more events come, the lag stops growing: that finding clears, the sink stays down.
      await until(async () => !(await instance(agent, stuck.url)).findings.some((finding) => finding.kind === 'lag-growing'), 'lag-growing clears');
      expect((await instance(agent, stuck.url)).findings.map((finding) => finding.kind)).toEqual(['sink-down']);
    } finally {
      await agent.stop();
    }
  });

  it('through Kafka alone: the heartbeats reach the broker; the agent flags one SIGKILLed instance late, and clears it when it beats again', async () => {
    const kafka = await startKafka();
    const beating = await startDaemon({ config: { heartbeat: { enabled: true, intervalSeconds: 1 }, sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } } } });
    let agent: AgentProcess | undefined;
    try {
      // The beats are in Kafka, read by an independent consumer: the daemon's own instance id and host.
      const [first] = await consumeAll(kafka.brokers, 'sparkngin-heartbeat', { expected: 1, timeoutMs: 60_000 });
      const beat = JSON.parse(first!.value.toString()) as { kind: string; instance: string; host: string };
      const stats = (await (await fetch(`${beating.url}/stats`)).json()) as { instance: { id: string; host: string } };
      expect(beat).toMatchObject({ kind: 'sparkngin.heartbeat', instance: stats.instance.id, host: stats.instance.host });

      // No instance listed: the agent knows it from its heartbeats only.
      agent = await startAgent({ instances: [] }, { sinks: { kafka: { brokers: [kafka.brokers] } } });
      const watched = async () => (await agent!.fleet()).instances.find((each) => each.id === stats.instance.id);
      await until(async () => (await watched())?.heartbeatAgeSeconds !== undefined && (await watched())?.state === 'ok', 'the agent sees the heartbeats');
      expect((await watched())!.sources).toEqual(['kafka']);
      expect((await watched())!.url).toBeUndefined();

      const killedAt = Date.now();
      await beating.kill();
      await until(async () => (await watched())?.findings.some((finding) => finding.kind === 'heartbeat-late') === true, 'the agent flags the heartbeat late');
      const late = (await watched())!.findings.find((finding) => finding.kind === 'heartbeat-late')!;
      expect(late.severity).toBe('critical');
      // Never before lateAfterSeconds after the last beat, which was made at most one interval (1 s) before the kill.
      expect(Date.parse(late.since) - killedAt).toBeGreaterThanOrEqual((LATE_SECONDS - 1) * 1000);
      expect(late.message).toMatch(/^last heartbeat [\d.]+ s ago$/);
      const critical = await checkAgent(agent.url);
      expect([critical.code, critical.out]).toEqual([2, expect.stringMatching(/heartbeat [\d.]+ s ago/)]);

      await beating.restart();
      await until(async () => (await watched())?.state === 'ok', 'the instance beats again and is cleared');
      expect((await checkAgent(agent.url)).code).toBe(0);
    } finally {
      await agent?.stop();
      await beating.close();
      await kafka.close();
    }
  }, 240_000);
});
