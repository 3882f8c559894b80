// The documents list the catalogue as it is: docs/telemetry.md has the table of every metric and
// every log event, and the man page's METRICS section every metric, both rendered from
// src/ops/catalogue.ts between markers. A change to the catalogue fails here until the documents
// are rendered again: `UPDATE_DOCS=1 npx vitest run test/unit/telemetry-docs.test.ts`. And no
// document names a metric or log event the catalogue does not have.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leafKeys } from '../../src/config/load';
import { LOG_EVENTS, type Metric, METRICS } from '../../src/ops/catalogue';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BEGIN = '<!-- generated from src/ops/catalogue.ts: begin -->';
const END = '<!-- generated from src/ops/catalogue.ts: end -->';

const labels = (metric: Metric) => (metric.labels.length === 0 ? '' : metric.labels.join(', '));
const cell = (text: string) => text.replace(/\|/g, '\\|');

function telemetryTables(): string {
  const metrics = METRICS.map(
    (metric) => `| \`${metric.name}\` | ${metric.type} | ${metric.unit} | ${labels(metric)} | \`${metric.stat}\` | ${cell(metric.help)}${metric.when ? ` Only when ${metric.when}.` : ''} |`,
  );
  const events = LOG_EVENTS.map((entry) => `| \`${entry.event}\` | ${entry.level} | ${entry.metric ? `\`${entry.metric}\`` : ''} | ${cell(entry.help)} |`);
  return [
    '### Metrics',
    '',
    '| name | type | unit | labels | in /stats | what it counts |',
    '| --- | --- | --- | --- | --- | --- |',
    ...metrics,
    '',
    '### Log events',
    '',
    'Every line at warn and error is also counted in `sparkngin_log_events_total{event,level}`.',
    '',
    '| event | level | also counted in | what it means |',
    '| --- | --- | --- | --- |',
    ...events,
  ].join('\n');
}

/** The man page's METRICS section (go-md2man renders no HTML comment, so the section is generated whole): one definition per metric. */
function manList(): string {
  const intro = `What **/metrics** shows (Prometheus names; **/stats** has the same numbers as JSON, and
docs/telemetry.md says where, and lists every log event). Counters end in *_total*; a histogram
has *_bucket*, *_sum* and *_count*.`;
  return `${intro}\n\n${METRICS.map((metric) => {
    const facts = [metric.type, metric.unit, ...(metric.labels.length > 0 ? [`labels ${metric.labels.join(', ')}`] : [])].join('; ');
    return `**${metric.name}** (${facts})\n:   ${metric.help}${metric.when ? ` Only when ${metric.when}.` : ''}`;
  }).join('\n\n')}\n`;
}

/** Checks (or with UPDATE_DOCS=1 writes) the text of `path` between `begin` and `end` against `render()`. */
function checkGenerated(path: string, render: () => string, begin = `${BEGIN}\n`, end = `\n${END}`): void {
  const file = join(ROOT, path);
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from + begin.length);
  expect(from >= 0 && to > from, `${path} has the markers`).toBe(true);
  const wanted = `${text.slice(0, from + begin.length)}${render()}${text.slice(to)}`;
  if (process.env.UPDATE_DOCS === '1') writeFileSync(file, wanted);
  else expect(text, `${path} is not what the catalogue renders: UPDATE_DOCS=1 npx vitest run test/unit/telemetry-docs.test.ts`).toBe(wanted);
}

describe('the catalogue in the documents', () => {
  it('docs/telemetry.md lists every metric and log event as the catalogue has them', () => checkGenerated('docs/telemetry.md', telemetryTables));

  it('the man page lists every metric', () => checkGenerated('man/sparkngin.8.md', manList, '# METRICS\n\n', '\n# ENVIRONMENT\n'));

  it('no document names a metric or a log event the catalogue lacks', () => {
    const metrics = new Set(METRICS.map((metric) => metric.name));
    const events = new Set(LOG_EVENTS.map((entry) => entry.event));
    // Settings look alike (`spool.fsync`, `tls.cert`): a name that is a setting, or a section of one, is not an event.
    const settings = new Set(leafKeys().flatMap((key) => key.split('.').flatMap((_, from, parts) => parts.map((__, to) => parts.slice(from, to + 1).join('.')))));
    const stale: string[] = [];
    for (const document of ['README.md', 'docs/guide.md', 'docs/architecture.md', 'man/sparkngin.8.md', 'src/sinks/README.md', 'src/spool/README.md', 'src/ingest/README.md', 'src/delivery/README.md']) {
      const text = readFileSync(join(ROOT, document), 'utf8');
      for (const [name] of text.matchAll(/\bsparkngin_[a-z0-9_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (!metrics.has(name) && !metrics.has(base)) stale.push(`${document}: ${name}`);
      }
      // Log events are named in backquotes or bold: `spool.records_lost`, **config.unknown_env**.
      for (const [, name] of text.matchAll(/[`*]((?:daemon|config|ingest|tracker|tls|spool|sink|dispatcher|file_sink|discovery|heartbeat|dead_letter)\.[a-z][a-z_-]*)[`*]/g)) {
        if (!events.has(name!) && !settings.has(name!) && !/\.(ts|md)$/.test(name!)) stale.push(`${document}: ${name}`);
      }
    }
    expect(stale).toEqual([]);
  });
});
