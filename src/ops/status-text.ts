// The status page in a terminal (`sparkngin status`, `sparkngin top`): the same numbers from the
// same /stats, as lines of text with Unicode sparklines. Pure: stats in, text out.
import type { DaemonStats } from '../daemon/daemon';

const BARS = '▁▂▃▄▅▆▇█';

/** The last `width` values as a sparkline (empty for no values). */
export function sparkline(values: readonly number[], width = 24): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  return shown.map((value) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.floor((value / max) * (BARS.length - 1) + 0.5))])).join('');
}

const number = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function formatBytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${number(value, unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${number(seconds, seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** A sink's state as the views show it: failed and down come first, whatever the loop does. */
export function sinkState(sink: Pick<DaemonStats['sinks'][number], 'state' | 'up'>): string {
  if (sink.state === 'failed') return 'failed';
  if (!sink.up) return 'down';
  return sink.state;
}

const last = (values: readonly number[]) => values.at(-1) ?? 0;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
}

/** The status as lines of text, at most about `width` columns (errors are cut to fit). */
export function renderStatus(stats: DaemonStats, width = 100): string {
  const history = stats.history;
  const lines: string[] = [];
  const well = stats.problems.length === 0;
  lines.push(`Sparkngin ${stats.version} on ${stats.instance.host} (instance ${stats.instance.id}), up ${formatDuration(stats.uptimeSeconds)}: ${well ? 'imok' : `${stats.problems.length} problem${stats.problems.length === 1 ? '' : 's'}`}`);
  for (const problem of stats.problems) lines.push(`  ! ${problem}`);
  lines.push('');
  lines.push(`Ingest  ${number(last(history.acceptedPerSecond), 1)} events/s ${sparkline(history.acceptedPerSecond)}  refused ${number(last(history.refusedPerSecond), 1)} requests/s  accepted since start ${number(stats.ingest.accepted.events)}`);
  const records = stats.spool.nextSeq - stats.spool.firstSeq;
  lines.push(`Spool   ${formatBytes(stats.spool.bytes)} of ${formatBytes(stats.spool.maxBytes)} ${sparkline(history.spoolBytes)}  ${number(records)} records${stats.spool.full ? '  FULL' : ''}`);
  lines.push('');
  const rows = [['SINK', 'STATE', 'LAG', 'OLDEST', 'HELD', 'DELIVERED/S', '', 'LAST ERROR']];
  for (const sink of stats.sinks) {
    const line = history.sinks.find((entry) => entry.sink === sink.sink);
    rows.push([
      sink.sink,
      sinkState(sink),
      number(sink.lagRecords),
      formatDuration(sink.lagSeconds),
      formatBytes(sink.spoolBytes),
      number(line === undefined ? 0 : last(line.deliveredPerSecond), 1),
      sparkline(line?.deliveredPerSecond ?? [], 16),
      sink.lastError ?? '',
    ]);
  }
  lines.push(...table(rows).map((row) => (row.length > width ? `${row.slice(0, width - 1)}…` : row)));
  return `${lines.join('\n')}\n`;
}
