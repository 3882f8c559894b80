// The Ganglia publisher (src/ops/ganglia/) against Debian's gmond (test/peers/gmond.ts: unicast on
// 127.0.0.1, no multicast): what gmond shows in its XML is what was sent, with type, units, slope,
// group, title and description; a spoofed host appears under its own name; a gmond that restarts
// (and so knows no metadata) shows the metrics again once the metadata is re-sent. Then the daemon
// with ganglia.hosts: every metric of the catalogue that /metrics shows, gmond shows, and no other,
// with the catalogue's units and the right types, slopes and values.
import { afterEach, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/ops/catalogue';
import { silentLogger } from '../../src/ops/log';
import type { GangliaMetric } from '../../src/ops/ganglia/protocol';
import { GangliaPublisher, type GangliaSample, type PublisherOptions } from '../../src/ops/ganglia/publisher';
import { type Gmond, type GmondHost, startGmond } from '../peers/gmond';
import { until } from '../wait';
import { postEvents, startDaemon } from './daemon-process';

const base = { tmax: 60, dmax: 0, group: 'sparkngin' } as const;
const lag: GangliaMetric = { ...base, name: 'test_lag_records.kafka', type: 'double', units: 'records', slope: 'both', title: 'Lag (kafka)', desc: 'Records not yet delivered.' };
const sent: GangliaMetric = { ...base, name: 'test_sent_total', type: 'double', units: 'records', slope: 'positive', title: 'Sent', desc: 'Records sent since start.' };
const up: GangliaMetric = { ...base, name: 'test_up', type: 'uint8', units: 'boolean', slope: 'both', title: 'Up', desc: '1 while up.' };
const version: GangliaMetric = { ...base, name: 'test_version', type: 'string', units: '', slope: 'zero', title: 'Version', desc: 'Version "quoted" & <bracketed>.' };

let gmonds: Gmond[] = [];
let publishers: GangliaPublisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.map((publisher) => publisher.stop()));
  await Promise.all(gmonds.map((gmond) => gmond.stop()));
  gmonds = [];
  publishers = [];
});

function publisher(gmond: Gmond, collect: () => GangliaSample[], options: Partial<PublisherOptions> = {}): GangliaPublisher {
  const made = new GangliaPublisher({
    destinations: [{ host: '127.0.0.1', port: gmond.udpPort }],
    source: { host: 'ignored-unless-spoofed' },
    intervalMs: 60_000,
    metadataIntervalMs: 60_000,
    multicastTtl: 1,
    multicastInterface: '',
    collect,
    logger: silentLogger,
    ...options,
  });
  publishers.push(made);
  return made;
}

async function hostWith(gmond: Gmond, name: string, metrics: string[]): Promise<GmondHost> {
  let found: GmondHost | undefined;
  await until(async () => {
    found = (await gmond.hosts()).find((host) => host.name === name && metrics.every((metric) => host.metrics.has(metric)));
    return found !== undefined;
  }, `gmond shows ${metrics.join(', ')} of ${name}`);
  return found!;
}

describe('Ganglia publisher → gmond', () => {
  it('gmond shows each metric with its value, type, units, slope, tmax and extra data; a new value replaces the old', async () => {
    const gmond = await startGmond();
    gmonds.push(gmond);
    let lagValue = 1234.5;
    const p = publisher(gmond, () => [
      { metric: lag, value: lagValue },
      { metric: sent, value: 987_654_321_012 },
      { metric: up, value: 1 },
      { metric: version, value: '1.2.3' },
    ]);
    await p.publish();
    const host = await hostWith(gmond, 'localhost', [lag.name, sent.name, up.name, version.name]);
    expect(host.ip).toBe('127.0.0.1');
    const shown = host.metrics.get(lag.name)!;
    expect(shown).toMatchObject({ val: '1234.5', type: 'double', units: 'records', slope: 'both', tmax: 60, dmax: 0 });
    expect(shown.extra).toEqual({ GROUP: 'sparkngin', TITLE: 'Lag (kafka)', DESC: 'Records not yet delivered.' });
    expect(Number(host.metrics.get(sent.name)!.val)).toBe(987_654_321_012);
    expect(host.metrics.get(sent.name)!.slope).toBe('positive');
    expect(host.metrics.get(up.name)).toMatchObject({ val: '1', type: 'uint8', units: 'boolean' });
    expect(host.metrics.get(version.name)).toMatchObject({ val: '1.2.3', type: 'string', slope: 'zero' });
    // gmond copies text into its XML unescaped: what we send must keep it well-formed.
    expect(host.metrics.get(version.name)!.extra.DESC).toBe("Version 'quoted' and (bracketed).");
    expect(await gmond.xml()).not.toMatch(/VAL="[^"]*[<>&][^"]*"/);

    lagValue = 7;
    await p.publish();
    await until(async () => (await hostWith(gmond, 'localhost', [lag.name])).metrics.get(lag.name)!.val === '7', 'gmond shows the new value');
  });

  it('a spoofed host appears under its name and address, with SPOOF_HOST', async () => {
    const gmond = await startGmond();
    gmonds.push(gmond);
    await publisher(gmond, () => [{ metric: lag, value: 3 }], { source: { host: 'h', spoof: '10.9.8.7:ingest-07' } }).publish();
    const host = await hostWith(gmond, 'ingest-07', [lag.name]);
    expect(host.ip).toBe('10.9.8.7');
    expect(host.metrics.get(lag.name)!.extra.SPOOF_HOST).toBe('10.9.8.7:ingest-07');
    expect((await gmond.hosts()).map((h) => h.name)).not.toContain('localhost');
  });

  it('a gmond that restarted shows nothing for values alone, and everything once the metadata is re-sent', async () => {
    const first = await startGmond();
    gmonds.push(first);
    let now = 0;
    const p = publisher(first, () => [{ metric: lag, value: ++now }], { metadataIntervalMs: 3_000 });
    await p.publish();
    await hostWith(first, 'localhost', [lag.name]);
    await first.stop();
    gmonds = [];
    const second = await startGmond({ udpPort: first.udpPort, tcpPort: first.tcpPort });
    gmonds.push(second);
    // Values without metadata: gmond drops them (this is why metadata is re-sent at all). A marker
    // sent after them, with its metadata, shows when gmond has read that far.
    await p.publish();
    await publisher(second, () => [{ metric: up, value: 1 }]).publish();
    const host = await hostWith(second, 'localhost', [up.name]);
    expect([...host.metrics.keys()]).toEqual([up.name]);
    // Past metadataIntervalMs the next round carries the metadata again.
    await until(async () => {
      await p.publish();
      return (await second.hosts()).some((host) => host.metrics.has(lag.name));
    }, 'the metric is back in the restarted gmond', 30_000);
  });

  it('sending to a gmond that is not there fails quietly (one warning) and recovers by itself', async () => {
    const gmond = await startGmond();
    const { udpPort, tcpPort } = gmond;
    await gmond.stop();
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (event: string) => lines.push(event), info: (event: string) => lines.push(event) };
    const p = publisher(gmond, () => [{ metric: lag, value: 1 }], { logger: logger as typeof silentLogger, metadataIntervalMs: 0 });
    // Loopback UDP to a closed port: the kernel answers ICMP port unreachable; sending goes on.
    for (let round = 0; round < 3; round++) await p.publish();
    const back = await startGmond({ udpPort, tcpPort });
    gmonds.push(back);
    await until(async () => {
      await p.publish();
      return (await back.hosts()).some((host) => host.metrics.has(lag.name));
    }, 'the metric reaches the gmond that came back');
    expect(lines.filter((line) => line === 'ganglia.send_failed').length).toBeLessThanOrEqual(1);
  });
});

describe('the daemon → gmond: the catalogue', () => {
  it('every metric of the catalogue that /metrics shows, gmond shows, and no other; with units, types, slopes and values', async () => {
    const gmond = await startGmond();
    gmonds.push(gmond);
    // An environment variable that is no setting: a warning, so that the log-event counter has a sample too.
    const daemon = await startDaemon({
      config: { ganglia: { hosts: [`127.0.0.1:${gmond.udpPort}`], intervalSeconds: 1 }, spool: { maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024 } },
      env: { SPARKNGIN_NO_SUCH_SETTING: '1' },
    });
    try {
      expect((await postEvents(daemon.url, 'orders', Array.from({ length: 25 }, (_, i) => ({ i })))).status).toBe(202);
      // One refusal, so that the refused-requests counter has a sample.
      expect((await fetch(`${daemon.url}/v1/topics/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })).status).toBe(400);
      const ours = async () => (await gmond.hosts()).find((host) => host.metrics.has('sparkngin_uptime_seconds'));
      await until(async () => (await ours())?.metrics.get('sparkngin_sink_delivered_records_total.file')?.val === '25', 'gmond shows the 25 events delivered by the file sink');
      await until(async () => (await ours())?.metrics.has('sparkngin_ingest_refused_requests_total.400.MALFORMED_JSON') === true, 'gmond shows the refusal');
      const exposition = await (await fetch(`${daemon.url}/metrics`)).text();
      const host = (await ours())!;

      const inPrometheus = new Set([...exposition.matchAll(/^(sparkngin_\w+?)(?:_bucket|_sum|_count)?(?:\{[^}]*\})? \S+$/gm)].map((match) => match[1]!));
      const inGmond = new Set(
        [...host.metrics.keys()].map((name) => {
          const base = name.split('.')[0]!;
          return METRICS.some((metric) => metric.name === base) ? base : base.replace(/_(count|sum)$/, '');
        }),
      );
      const shown = METRICS.filter((metric) => inPrometheus.has(metric.name)).map((metric) => metric.name);
      expect([...inGmond].sort()).toEqual(shown.sort());
      // Those in neither are the conditional ones (TLS is off here).
      expect(METRICS.filter((metric) => !inPrometheus.has(metric.name)).map((metric) => metric.name)).toEqual(METRICS.filter((metric) => metric.when !== undefined).map((metric) => metric.name));
      expect(host.metrics.get('sparkngin_log_events_total.config_unknown_env.warn')?.val).toBe('1');

      for (const [name, seen] of host.metrics) {
        const metric = METRICS.find((candidate) => name === candidate.name || name.startsWith(`${candidate.name}.`) || name.startsWith(`${candidate.name}_count`) || name.startsWith(`${candidate.name}_sum`))!;
        expect(seen.extra.GROUP, name).toBe(`sparkngin ${metric.group}`);
        expect(seen.extra.DESC, name).toBe(metric.help.replace(/[&<>"]/g, (c) => ({ '&': 'and', '<': '(', '>': ')', '"': "'" })[c]!));
        if (metric.unit === 'info') expect([seen.type, seen.slope], name).toEqual(['string', 'zero']);
        else if (metric.type === 'gauge') expect([seen.type, seen.slope, seen.units], name).toEqual(['double', 'both', metric.unit]);
        else expect([seen.type, seen.slope], name).toEqual(['double', 'positive']);
      }
      const value = (name: string) => host.metrics.get(name)?.val;
      expect(value('sparkngin_spool_max_bytes')).toBe(String(64 * 1024 * 1024));
      expect(value('sparkngin_build_info')).toBe(((await (await fetch(`${daemon.url}/stats`)).json()) as { version: string }).version);
      expect(value('sparkngin_spool_appended_records_total')).toBe('25');
      expect(value('sparkngin_ingest_accepted_events_total')).toBe('25');
      expect(value('sparkngin_sink_up.file')).toBe('1');
      expect(['idle', 'sending']).toContain(value('sparkngin_sink_state.file'));
      expect(value('sparkngin_ingest_request_events_count')).toBe('1');
      expect(value('sparkngin_ingest_request_events_sum')).toBe('25');
    } finally {
      await daemon.close();
    }
  });

  it('ganglia.spoofHost: the metrics appear under that host name and address', async () => {
    const gmond = await startGmond();
    gmonds.push(gmond);
    const daemon = await startDaemon({ config: { ganglia: { hosts: [`127.0.0.1:${gmond.udpPort}`], intervalSeconds: 1, spoofHost: '10.20.30.40:ingest-07' } } });
    try {
      await until(async () => (await gmond.hosts()).some((host) => host.name === 'ingest-07' && host.ip === '10.20.30.40' && host.metrics.has('sparkngin_uptime_seconds')), 'gmond shows the spoofed host');
      expect((await gmond.hosts()).map((host) => host.name)).toEqual(['ingest-07']);
    } finally {
      await daemon.close();
    }
  });
});
