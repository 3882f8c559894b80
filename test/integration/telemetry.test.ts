// Every metric of the catalogue (src/ops/catalogue.ts) appears in /metrics and in /stats of a live
// daemon, with the same samples: a daemon with TLS on, ZeroMQ ingest on, a ZeroMQ PUB sink and a
// syslog sink (the conditional metrics; the sinks take a topic nobody posts to, so they need no
// peer), two threads on the events port, and its operations endpoints on a listener of their own, after some traffic: events
// acknowledged and delivered, a refused request and a refused ZeroMQ message, a warning logged.
import { request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/ops/catalogue';
import { samplesOf, statsHold } from '../../src/ops/samples';
import { freePort } from '../peers/ports';
import { makeTestCa } from '../peers/test-ca';
import { until } from '../wait';
import { type DaemonProcess, startDaemon } from './daemon-process';

let dir: string;
let daemon: DaemonProcess;
let ops: string;
let ca: string;

function postHttps(path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.url}${path}`, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/x-ndjson' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-telemetry-'));
  const testCa = await makeTestCa(dir);
  ca = testCa.certPem;
  const cert = await testCa.issue('server');
  const [opsPort, pullPort] = [await freePort(), await freePort()];
  ops = `http://127.0.0.1:${opsPort}`;
  daemon = await startDaemon({
    config: {
      tls: { cert: cert.cert, key: cert.key },
      ops: { listen: `127.0.0.1:${opsPort}` },
      // Two threads on the events port (the per-thread metrics; TLS and the sums across threads).
      http: { threads: 2 },
      zmq: { pull: `tcp://127.0.0.1:${pullPort}` },
      sinks: {
        zeromq: { endpoint: `tcp://127.0.0.1:${await freePort()}`, socket: 'pub', topics: ['taps.*'] },
        syslog: { endpoint: `udp://127.0.0.1:${await freePort()}`, topics: ['taps.*'] },
      },
    },
    https: { ca },
    env: { SPARKNGIN_NO_SUCH_SETTING: '1' },
  });
  await until(async () => ((await (await fetch(`${ops}/stats`)).json()) as any).ingest.threads?.length === 2, 'both threads of the events port listening');
  expect(await postHttps('/v1/topics/telemetry?ack=sink', '{"n":1}\n{"n":2}\n{"n":3}\n')).toBe(202);
  expect(await postHttps('/v1/nowhere', '{}')).toBe(404);
  // The ZeroMQ and syslog sinks' own numbers arrive once their threads started them.
  await until(async () => {
    const stats: any = await (await fetch(`${ops}/stats`)).json();
    return stats.sinks.filter((sink: any) => sink.destination !== undefined).length === 2;
  }, 'the ZeroMQ and syslog sinks report their numbers');
  // A ZeroMQ message refused (its topic is no topic name): ZeroMQ ingest's counters have samples.
  const push = new zmq.Push({ linger: 1000 });
  push.connect(`tcp://127.0.0.1:${pullPort}`);
  await push.send(['not a topic!', 'x']);
  push.close();
  await until(async () => ((await (await fetch(`${ops}/stats`)).json()) as any).ingest.zmq.refused.length > 0, 'the ZeroMQ refusal is counted');
});
afterAll(async () => {
  await daemon?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the catalogue in a live daemon', () => {
  it('every metric is in /metrics and /stats, each with the same samples', async () => {
    const stats: any = await (await fetch(`${ops}/stats`)).json();
    const text = await (await fetch(`${ops}/metrics`)).text();
    const missing: string[] = [];
    for (const metric of METRICS) {
      if (!text.includes(`\n# TYPE ${metric.name} ${metric.type}\n`)) missing.push(`${metric.name}: not in /metrics`);
      if (!statsHold(metric, stats)) missing.push(`${metric.name}: /stats has no ${metric.stat}`);
      const samples = samplesOf(metric, stats);
      if (samples.length === 0) missing.push(`${metric.name}: no sample in /stats at ${metric.stat}`);
      for (const { labels } of samples) {
        const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
        const line = text.split('\n').find((candidate) => candidate.startsWith(metric.name) && pairs.every((pair) => candidate.includes(pair)));
        if (line === undefined) missing.push(`${metric.name}: /metrics has no sample labelled ${pairs.join(',')}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('counts what happened: the request, its events, their delivery, the refusal and the warning', async () => {
    const stats: any = await (await fetch(`${ops}/stats`)).json();
    expect(stats.ingest.accepted).toEqual({ requests: 1, events: 3 });
    expect(stats.ingest.requestSeconds.count).toBe(1);
    expect(stats.ingest.eventsPerRequest.count).toBe(1);
    expect(stats.ingest.refused).toContainEqual({ status: 404, code: 'NOT_FOUND', count: 1 });
    expect(stats.log.events).toContainEqual({ event: 'config.unknown_env', level: 'warn', count: 1 });
    const [file] = stats.sinks;
    expect(file).toMatchObject({ sink: 'file', up: true, deliveredRecords: 3, lagRecords: 0, lagSeconds: 0, spoolBytes: 0, cursorSaveFailures: 0, threadRestarts: 0 });
    expect(file.batchRecords.sum).toBe(3);
    expect(stats.instance.id).toMatch(/^[0-9a-f-]{36}$/);
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(text).toContain('sparkngin_ingest_accepted_events_total 3\n');
    expect(text).toContain('sparkngin_ingest_request_events_bucket{le="5"} 1\n');
    expect(text).toContain('sparkngin_sink_delivered_records_total{sink="file"} 3\n');
    expect(text).toContain('sparkngin_log_events_total{event="config.unknown_env",level="warn"} 1\n');
    expect(text).toContain('sparkngin_sink_state{sink="file",state="idle"} 1\n');
  });
});

describe('a sink that cannot deliver', () => {
  let stuck: DaemonProcess;
  beforeAll(async () => {
    // A Kafka sink whose broker is a closed port: it retries forever, holding its events.
    stuck = await startDaemon({ config: { sinks: { kafka: { brokers: [`127.0.0.1:${await freePort()}`], retry: { initialMs: 50, maxMs: 200 } } } } });
  });
  afterAll(async () => {
    await stuck?.close();
  });

  it('shows its lag in events, in seconds (the age of the oldest held) and in spool bytes, and the sink down', async () => {
    const posted = await fetch(`${stuck.url}/v1/topics/held`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"a":1}\n{"a":2}\n' });
    expect(posted.status).toBe(202);
    let kafka: any;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      kafka = ((await (await fetch(`${stuck.url}/stats`)).json()) as any).sinks.find((sink: any) => sink.sink === 'kafka');
      if (kafka.lagSeconds >= 1.5 && !kafka.up) break;
    }
    // Sending (a connection attempt that has not timed out yet) or retrying.
    expect(kafka).toMatchObject({ up: false, lagRecords: 2 });
    expect(['sending', 'retrying']).toContain(kafka.state);
    expect(kafka.lagSeconds).toBeGreaterThanOrEqual(1.5);
    expect(kafka.spoolBytes).toBeGreaterThan(0);
    const text = await (await fetch(`${stuck.url}/metrics`)).text();
    expect(Number(/\nsparkngin_sink_lag_seconds\{sink="kafka"\} (\S+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1.5);
    expect(text).toContain('sparkngin_sink_up{sink="kafka"} 0\n');
    expect(text).toMatch(/\nsparkngin_sink_state\{sink="kafka",state="(sending|retrying)"\} 1\n/);
    expect(text).toContain('sparkngin_sink_lag_records{sink="kafka"} 2\n');
  });
});
