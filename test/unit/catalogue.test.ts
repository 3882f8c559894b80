// The telemetry catalogue (src/ops/catalogue.ts) is the one list: every log event the code writes is
// in it, every name is well formed and given once, and what renders from it (Prometheus) follows the
// exposition format. That every metric appears in /metrics and /stats of a live daemon is
// test/integration/telemetry.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOG_EVENTS, METRICS } from '../../src/ops/catalogue';
import { Histogram } from '../../src/ops/histogram';
import { createLogger } from '../../src/ops/log';
import { renderPrometheus } from '../../src/ops/prometheus';
import { samplesOf } from '../../src/ops/samples';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Event names the code logs: `logger.warn('x.y', …)`, `logger[level]('x.y', …)`, and the names handed to a helper that logs them. */
function loggedEvents(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/\.(?:debug|info|warn|error)\(\s*'([a-z][a-z_]*(?:\.[a-z][a-z_-]*)?)'/g, /\]\(\s*'([a-z][a-z_]*\.[a-z][a-z_-]*)'/g, /logCertificate\(logger, '([^']+)'/g];
  for (const file of sourceFiles(SRC)) {
    // The client library logs to the application's logger, not the daemon's: not daemon telemetry.
    if (file.startsWith(join(SRC, 'client'))) continue;
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.set(match[1]!, file.slice(SRC.length + 1));
  }
  return found;
}

describe('the telemetry catalogue', () => {
  it('lists every log event the code writes, and none that it does not', () => {
    const logged = loggedEvents();
    const listed = new Set(LOG_EVENTS.map((entry) => entry.event));
    expect([...logged].filter(([event]) => !listed.has(event)).map(([event, file]) => `${event} (${file})`), 'log events missing from src/ops/catalogue.ts').toEqual([]);
    expect([...listed].filter((event) => !logged.has(event)), 'catalogued log events no code writes').toEqual([]);
    expect(listed.size, 'an event listed twice').toBe(LOG_EVENTS.length);
  });

  it('names each metric once, in Prometheus form, with the unit in the name', () => {
    const names = METRICS.map((metric) => metric.name);
    expect(new Set(names).size).toBe(names.length);
    for (const metric of METRICS) {
      expect(metric.name, metric.name).toMatch(/^sparkngin_[a-z0-9_]+$/);
      expect(metric.name.endsWith('_total'), `${metric.name}: counters and only counters end in _total`).toBe(metric.type === 'counter');
      if (metric.unit === 'seconds' || metric.unit === 'bytes') expect(metric.name, `${metric.name} names its unit`).toMatch(new RegExp(`_${metric.unit}(_total)?$|_timestamp_seconds$`));
      expect(metric.help.length, `${metric.name} has help`).toBeGreaterThan(10);
    }
  });

  it('points every counted log event at a metric of the catalogue', () => {
    const names = new Set(METRICS.map((metric) => metric.name));
    expect(LOG_EVENTS.filter((entry) => entry.metric !== undefined && !names.has(entry.metric)).map((entry) => `${entry.event} → ${entry.metric}`)).toEqual([]);
  });

  it('derives labels and groups from the /stats path', () => {
    const byName = new Map(METRICS.map((metric) => [metric.name, metric]));
    expect(byName.get('sparkngin_ingest_refused_requests_total')).toMatchObject({ labels: ['status', 'code'], group: 'ingest' });
    expect(byName.get('sparkngin_sink_state')).toMatchObject({ labels: ['sink', 'state'], group: 'sinks' });
    expect(byName.get('sparkngin_build_info')).toMatchObject({ labels: ['version'], group: 'daemon' });
  });
});

describe('samples and the Prometheus exposition', () => {
  const histogram = new Histogram([1, 10]);
  for (const value of [0.5, 3, 3, 50]) histogram.observe(value);
  const stats = {
    version: '9.9.9',
    ingest: { refused: [{ status: 429, code: 'RATE_LIMITED', count: 2 }], requestSeconds: histogram.snapshot(), tls: { notAfter: '2030-01-01T00:00:00.000Z' } },
    sinks: [{ sink: 'a"b', state: 'retrying', up: false, lagRecords: 7 }],
    spool: { full: true },
  };
  const text = renderPrometheus(stats);

  it('reads numbers, booleans, dates, info and state sets from the paths', () => {
    const sample = (name: string) => samplesOf(METRICS.find((metric) => metric.name === name)!, stats);
    expect(sample('sparkngin_build_info')).toEqual([{ labels: { version: '9.9.9' }, value: 1 }]);
    expect(sample('sparkngin_sink_state')).toEqual([{ labels: { sink: 'a"b', state: 'retrying' }, value: 1 }]);
    expect(sample('sparkngin_sink_up')).toEqual([{ labels: { sink: 'a"b' }, value: 0 }]);
    expect(sample('sparkngin_spool_full')).toEqual([{ labels: {}, value: 1 }]);
    expect(sample('sparkngin_tls_certificate_expiry_timestamp_seconds')).toEqual([{ labels: {}, value: Date.parse('2030-01-01T00:00:00Z') / 1000 }]);
    expect(sample('sparkngin_spool_bytes')).toEqual([]);
  });

  it('writes HELP and TYPE for each metric, escaped labels, and cumulative histogram buckets', () => {
    expect(text).toContain('# TYPE sparkngin_ingest_request_duration_seconds histogram');
    expect(text).toContain('sparkngin_ingest_request_duration_seconds_bucket{le="1"} 1\n');
    expect(text).toContain('sparkngin_ingest_request_duration_seconds_bucket{le="10"} 3\n');
    expect(text).toContain('sparkngin_ingest_request_duration_seconds_bucket{le="+Inf"} 4\n');
    expect(text).toContain('sparkngin_ingest_request_duration_seconds_sum 56.5\n');
    expect(text).toContain('sparkngin_ingest_request_duration_seconds_count 4\n');
    expect(text).toContain('sparkngin_sink_lag_records{sink="a\\"b"} 7\n');
    expect(text).toContain('sparkngin_ingest_refused_requests_total{status="429",code="RATE_LIMITED"} 2\n');
    // Every line is a comment or `name{labels} value`.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[^}]*\})? \S+)$/);
  });

  it('leaves out a metric that applies only under a condition when it does not apply', () => {
    expect(renderPrometheus({})).not.toContain('sparkngin_tls_certificate_expiry_timestamp_seconds');
    expect(renderPrometheus({})).toContain('# TYPE sparkngin_spool_bytes gauge');
  });

  it('gives a per-sink metric of some kinds of sink the samples of the sinks that have it', () => {
    const mixed = { sinks: [{ sink: 'file' }, { sink: 'taps', destination: { peers: 2 } }] };
    expect(samplesOf(METRICS.find((metric) => metric.name === 'sparkngin_sink_peers')!, mixed)).toEqual([{ labels: { sink: 'taps' }, value: 2 }]);
    expect(renderPrometheus(mixed)).toContain('sparkngin_sink_peers{sink="taps"} 2\n');
    expect(renderPrometheus({ sinks: [{ sink: 'file' }] })).not.toContain('sparkngin_sink_peers');
  });
});

describe('log event counts', () => {
  it('counts warn and error lines by event, below the configured level too, across children', () => {
    const lines: string[] = [];
    const logger = createLogger('error', {}, (line) => void lines.push(line));
    logger.warn('spool.read_retry');
    logger.child({ sink: 'file' }).warn('spool.read_retry');
    logger.error('spool.write_failed');
    logger.info('daemon.started');
    expect(lines).toHaveLength(1);
    expect(logger.eventCounts()).toEqual([
      { event: 'spool.read_retry', level: 'warn', count: 2 },
      { event: 'spool.write_failed', level: 'error', count: 1 },
    ]);
  });
});
