// The catalogue (src/ops/catalogue.ts) as Ganglia metrics: every metric of the catalogue that /stats
// holds, each sample one Ganglia metric, so that gmond shows what /metrics shows. Ganglia has no
// labels, so a sample's label values join its name (`sparkngin_sink_lag_records.kafka`), cleaned to
// what gmond and gmetad's RRD file names take. Per type:
//   counter    double, slope positive (gmetad makes it an RRD COUNTER: rates come for free)
//   gauge      double, slope both
//   info       string, slope zero: the last label's value is the value (`sparkngin_build_info` =
//              `0.1.0`, `sparkngin_sink_state.kafka` = `retrying`), the others join the name
//   histogram  its `_count` and `_sum` (counters): what a rate or a mean is made of; buckets would be
//              15 more metrics each, which Ganglia cannot graph as a distribution anyway
// The units are the catalogue's; the group is `sparkngin <what it is about>` (spool, sinks, …).
import { METRICS, type Metric } from '../catalogue';
import { isHistogram } from '../histogram';
import { type Sample, samplesOf } from '../samples';
import type { GangliaMetric } from './protocol';
import type { GangliaSample } from './publisher';

/** A label value as part of a metric name: letters, digits, `_`, `-`; anything else becomes `_`. */
const namePart = (value: string): string => value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || '_';

export interface GangliaTiming {
  tmax: number;
  dmax: number;
}

function describe(metric: Metric, name: string, values: readonly string[], timing: GangliaTiming, shape: Pick<GangliaMetric, 'type' | 'slope' | 'units'>): GangliaMetric {
  const suffix = values.length > 0 ? ` (${values.join(', ')})` : '';
  return {
    name,
    ...shape,
    ...timing,
    group: `sparkngin ${metric.group}`,
    title: `${metric.name.replace(/^sparkngin_/, '').replace(/_/g, ' ')}${suffix}`,
    desc: metric.help,
  };
}

function fromSample(metric: Metric, sample: Sample, timing: GangliaTiming): GangliaSample[] {
  const values = metric.labels.map((label) => sample.labels[label] ?? '');
  if (metric.unit === 'info') {
    const shown = values.slice(0, -1);
    const name = [metric.name, ...shown.map(namePart)].join('.');
    return [{ metric: describe(metric, name, shown, timing, { type: 'string', slope: 'zero', units: '' }), value: values.at(-1) ?? '' }];
  }
  const nameOf = (base: string) => [base, ...values.map(namePart)].join('.');
  if (isHistogram(sample.value)) {
    const counter = { type: 'double', slope: 'positive' } as const;
    return [
      { metric: describe(metric, nameOf(`${metric.name}_count`), values, timing, { ...counter, units: 'observations' }), value: sample.value.count },
      { metric: describe(metric, nameOf(`${metric.name}_sum`), values, timing, { ...counter, units: metric.unit }), value: sample.value.sum },
    ];
  }
  const name = nameOf(metric.name);
  const shape = { type: 'double', slope: metric.type === 'counter' ? 'positive' : 'both', units: metric.unit } as const;
  return [{ metric: describe(metric, name, values, timing, shape), value: sample.value as number }];
}

/** Every Ganglia metric of a /stats snapshot. */
export function gangliaSamples(stats: unknown, timing: GangliaTiming): GangliaSample[] {
  return METRICS.flatMap((metric) => samplesOf(metric, stats).flatMap((sample) => fromSample(metric, sample, timing)));
}
