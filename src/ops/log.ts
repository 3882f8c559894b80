// Structured logs: one JSON object per line on stderr (journald and `docker logs` friendly).
// Levels below the configured one cost one comparison.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const least = RANK[level];
  const emit = (at: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < least) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: at, event, ...base, ...fields };
    for (const [key, value] of Object.entries(record)) {
      if (value instanceof Error) record[key] = { message: value.message, code: (value as { code?: unknown }).code };
    }
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = createLogger('error', {}, () => undefined);
