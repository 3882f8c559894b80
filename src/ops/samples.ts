// A catalogue metric's samples, read from a /stats snapshot by the metric's path (the grammar is at
// the top of catalogue.ts). Every renderer goes through here: the Prometheus exposition in this
// process, and whatever reads /stats from elsewhere (the Nagios check, the agent, Ganglia).
import type { Metric } from './catalogue';
import { type HistogramSnapshot, isHistogram } from './histogram';

export interface Sample {
  labels: Record<string, string>;
  /** A number, or a histogram snapshot for metrics of type histogram. */
  value: number | HistogramSnapshot;
}

interface Step {
  key: string;
  labels: string[];
}

const parsed = new Map<string, Step[]>();

/** `a.b[x,y].c` → steps; `[x]` alone (the root) is the step with key ''. */
function stepsOf(stat: string): Step[] {
  let steps = parsed.get(stat);
  if (steps === undefined) {
    steps = stat.split('.').map((part) => {
      const open = part.indexOf('[');
      return open < 0 ? { key: part, labels: [] } : { key: part.slice(0, open), labels: part.slice(open + 1, -1).split(',').filter(Boolean) };
    });
    parsed.set(stat, steps);
  }
  return steps;
}

interface Node {
  value: unknown;
  labels: Record<string, string>;
}

/**
 * The nodes a path reaches; undefined when a key on the way is absent everywhere (the metric does not
 * apply). Absent in some items of a list only, those items have no sample: a ZeroMQ sink's peers
 * beside a file sink that has none.
 */
function walk(stats: unknown, stat: string): Node[] | undefined {
  let nodes: Node[] = [{ value: stats, labels: {} }];
  for (const { key, labels } of stepsOf(stat)) {
    const next: Node[] = [];
    let found = nodes.length === 0;
    for (const node of nodes) {
      const value = key === '' ? node.value : (node.value as Record<string, unknown> | null | undefined)?.[key];
      if (value === undefined || value === null) continue;
      found = true;
      if (labels.length === 0) {
        next.push({ value, labels: node.labels });
        continue;
      }
      for (const item of Array.isArray(value) ? value : [value]) {
        const itemLabels = { ...node.labels };
        for (const label of labels) itemLabels[label] = String((item as Record<string, unknown>)[label]);
        next.push({ value: item, labels: itemLabels });
      }
    }
    if (!found) return undefined;
    nodes = next;
  }
  return nodes;
}

/** A value of /stats as a sample value, or undefined when it is none of the kinds a path may end at. */
function sampleValue(value: unknown, endsAtLabels: boolean): number | HistogramSnapshot | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const time = Date.parse(value);
    return Number.isNaN(time) ? undefined : time / 1000;
  }
  if (isHistogram(value)) return value;
  return endsAtLabels ? 1 : undefined;
}

/** Whether /stats holds this metric (its path leads somewhere, even to an empty list). */
export function statsHold(metric: Metric, stats: unknown): boolean {
  return walk(stats, metric.stat) !== undefined;
}

/** The metric's samples in a /stats snapshot: none when the path leads nowhere or to an empty list. */
export function samplesOf(metric: Metric, stats: unknown): Sample[] {
  const steps = stepsOf(metric.stat);
  const endsAtLabels = steps.at(-1)!.labels.length > 0;
  const samples: Sample[] = [];
  for (const node of walk(stats, metric.stat) ?? []) {
    const value = sampleValue(node.value, endsAtLabels);
    if (value !== undefined) samples.push({ labels: node.labels, value });
  }
  return samples;
}
