// The options `start` and `config show` share: where the configuration comes from. Flags become
// dotted-key overrides, applied over the file and the SPARKNGIN_* environment.
import type { Config } from '../config/defaults';
import { loadConfig } from '../config/load';
import { parseOptions, UsageError } from './command';

export const START_OPTIONS_HELP = `Options:
  -c, --config FILE     YAML configuration file (default: none; built-in defaults)
  -p, --port N          listen port (listen.port, default 7080)
      --host ADDR       listen address (listen.host, default 127.0.0.1)
  -d, --data-dir DIR    spool, cursors and file sink output (dataDir, default ./data)
  -k, --kafka BROKERS   comma-separated host:port list; turns the Kafka sink on
      --set KEY=VALUE   any setting by its dotted key (repeatable), e.g. --set spool.fsync=always
  -h, --help            this help

Every setting can also come from the environment: SPARKNGIN_<KEY> (see 'sparkngin config keys').
Precedence: flags > environment > file > defaults.
`;

const START_OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  'data-dir': { type: 'string', short: 'd' },
  kafka: { type: 'string', short: 'k' },
  set: { type: 'string', multiple: true },
} as const;

/** Parses the start options; `usage` is what a usage error prints. */
export function configFromArgs(args: string[], usage: string): () => Config {
  const { values, positionals } = parseOptions(args, START_OPTIONS, usage);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, usage);
  // A Map, not an object: a key such as `__proto__` must arrive as a key (and be refused as unknown).
  const overrides = new Map<string, string>();
  for (const pair of values.set ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--set expects KEY=VALUE, got '${pair}'`, usage);
    overrides.set(pair.slice(0, at), pair.slice(at + 1));
  }
  if (values.port !== undefined) overrides.set('listen.port', values.port);
  if (values.host !== undefined) overrides.set('listen.host', values.host);
  if (values['data-dir'] !== undefined) overrides.set('dataDir', values['data-dir']);
  if (values.kafka !== undefined) overrides.set('sinks.kafka.brokers', values.kafka);
  return () => loadConfig({ ...(values.config === undefined ? {} : { file: values.config }), env: process.env, overrides });
}
