// Prometheus text exposition (version 0.0.4) of the daemon's stats: every metric of the catalogue
// (catalogue.ts), in its order, with its samples read from the same /stats snapshot.
import { type Metric, METRICS } from './catalogue';
import type { HistogramSnapshot } from './histogram';
import { samplesOf } from './samples';

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Record<string, string>, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',')}}`;
}

/** Go's float formatting as Prometheus reads it: +Inf, and numbers as JavaScript prints them. */
const number = (value: number): string => (value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value));

function histogramLines(name: string, labels: Record<string, string>, histogram: HistogramSnapshot): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  histogram.bounds.forEach((bound, index) => {
    cumulative += histogram.counts[index] ?? 0;
    lines.push(`${name}_bucket${labelText(labels, ['le', number(bound)])} ${cumulative}`);
  });
  lines.push(`${name}_bucket${labelText(labels, ['le', '+Inf'])} ${histogram.count}`);
  lines.push(`${name}_sum${labelText(labels)} ${histogram.sum}`);
  lines.push(`${name}_count${labelText(labels)} ${histogram.count}`);
  return lines;
}

function render(metric: Metric, stats: unknown): string {
  const lines = [`# HELP ${metric.name} ${escapeHelp(metric.help)}`, `# TYPE ${metric.name} ${metric.type}`];
  for (const { labels, value } of samplesOf(metric, stats)) {
    if (typeof value === 'number') lines.push(`${metric.name}${labelText(labels)} ${number(value)}`);
    else lines.push(...histogramLines(metric.name, labels, value));
  }
  return lines.join('\n');
}

/** The exposition of a /stats snapshot. A metric that does not apply (TLS off) is left out whole. */
export function renderPrometheus(stats: unknown): string {
  return `${METRICS.filter((metric) => metric.when === undefined || samplesOf(metric, stats).length > 0)
    .map((metric) => render(metric, stats))
    .join('\n')}\n`;
}
