// What a Nagios plugin prints and returns (monitoring-plugins' doc/guidelines): one status line
// `SERVICE STATE - text`, then `|` and the performance data `'label'=value[UOM];warn;crit;min;max`,
// optionally more lines of detail; the exit status says the state: 0 OK, 1 WARNING, 2 CRITICAL,
// 3 UNKNOWN. A check that cannot tell (bad arguments, no answer to a question that needs one) is
// UNKNOWN, never CRITICAL.
import { alerts, type NagiosRange } from './range';

export const STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type NagiosState = (typeof STATES)[number];

/** Exit status of a state. */
export const exitCode = (state: NagiosState): number => STATES.indexOf(state);

/** The worse of two states: CRITICAL over WARNING over UNKNOWN over OK (as check_multi and most plugins rank them). */
export function worse(a: NagiosState, b: NagiosState): NagiosState {
  const rank: Record<NagiosState, number> = { OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };
  return rank[a] >= rank[b] ? a : b;
}

export interface Thresholds {
  warning?: NagiosRange;
  critical?: NagiosRange;
}

/** OK, WARNING or CRITICAL for `value` against the thresholds (critical wins). */
export function judge(value: number, thresholds: Thresholds): NagiosState {
  if (thresholds.critical && alerts(thresholds.critical, value)) return 'CRITICAL';
  if (thresholds.warning && alerts(thresholds.warning, value)) return 'WARNING';
  return 'OK';
}

/** Units of measurement the guidelines allow in perfdata. */
export type Uom = '' | 's' | 'ms' | 'us' | '%' | 'B' | 'KB' | 'MB' | 'TB' | 'c';

export interface PerfDatum {
  label: string;
  value: number;
  uom?: Uom;
  thresholds?: Thresholds;
  min?: number;
  max?: number;
}

/** `'label'=value[UOM];warn;crit;min;max`, trailing empty fields left out. */
export function formatPerfDatum(datum: PerfDatum): string {
  // Quotes only when needed; a quote inside a label is doubled (the guidelines' escape).
  const label = /^[A-Za-z0-9_.\-/:]+$/.test(datum.label) ? datum.label : `'${datum.label.replace(/'/g, "''").replace(/[=|]/g, '_')}'`;
  const number = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '' : String(Number(value.toFixed(6))));
  const fields = [`${label}=${number(datum.value)}${datum.uom ?? ''}`, datum.thresholds?.warning?.text ?? '', datum.thresholds?.critical?.text ?? '', number(datum.min), number(datum.max)];
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return fields.join(';');
}

export interface CheckResult {
  state: NagiosState;
  /** The status line's text after `STATE - `. */
  summary: string;
  perfdata?: PerfDatum[];
  /** Lines after the status line (long output). */
  details?: string[];
}

/** The plugin's whole output, ending with a newline. Text never carries a `|` (it would start perfdata). */
export function renderResult(service: string, result: CheckResult): string {
  const clean = (text: string) => text.replace(/\|/g, '/').replace(/\s*\n\s*/g, ' ');
  const perf = (result.perfdata ?? []).map(formatPerfDatum).join(' ');
  const first = `${service} ${result.state} - ${clean(result.summary)}${perf === '' ? '' : ` | ${perf}`}`;
  return [first, ...(result.details ?? []).map(clean)].join('\n') + '\n';
}
