// Structured logs: one JSON object per line on stderr (journald and `docker logs` friendly).
// Levels below the configured one cost one comparison. Lines at warn and error are counted by event
// name whatever the level (sparkngin_log_events_total): an operator who logs only errors still sees
// how often each warning happened, and no event of note goes without a number.
import { COUNTED_LEVELS } from './catalogue';
import { JOURNAL_PRIORITY } from './journal';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogEventCount {
  event: string;
  level: LogLevel;
  count: number;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Lines at warn and error so far, by event and level (this logger and its children share them). */
  eventCounts(): LogEventCount[];
}

/** The least severe of two levels: a delivery thread logs at most at `warn`, so that its warnings are counted. */
export function leastSevere(a: LogLevel, b: LogLevel): LogLevel {
  return RANK[a] <= RANK[b] ? a : b;
}

/** A log line of another thread, written again by this thread's logger (which stamps it, or not for journald, and counts it). */
export function relayLogLine(logger: Logger, line: string): void {
  const { level, event, time: _time, ...fields } = JSON.parse(line) as { level: LogLevel; event: string; time?: string };
  logger[level](event, fields);
}

/**
 * A logger writing JSON lines through `write` (stderr by default). `journal`: lines for journald,
 * with the priority prefix and without `time` (see journal.ts).
 */
export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => void process.stderr.write(line),
  counts: Map<string, LogEventCount> = new Map(),
  journal = false,
): Logger {
  const least = RANK[level];
  const emit = (at: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (COUNTED_LEVELS.has(at)) {
      const key = `${at} ${event}`;
      const known = counts.get(key);
      if (known) known.count++;
      else counts.set(key, { event, level: at, count: 1 });
    }
    if (RANK[at] < least) return;
    const record: Record<string, unknown> = journal ? { level: at, event, ...base, ...fields } : { time: new Date().toISOString(), level: at, event, ...base, ...fields };
    for (const [key, value] of Object.entries(record)) {
      if (value instanceof Error) record[key] = { message: value.message, code: (value as { code?: unknown }).code };
    }
    write(journal ? `<${JOURNAL_PRIORITY[at]}>${JSON.stringify(record)}\n` : `${JSON.stringify(record)}\n`);
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write, counts, journal),
    eventCounts: () => [...counts.values()].map((count) => ({ ...count })),
  };
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = createLogger('error', {}, () => undefined);
