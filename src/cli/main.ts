// The `sparkngin` command: `start`, `version`, `config check|show`. Each has `--help`.
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
import { parseArgs } from 'node:util';
import { loadConfig, leafKeys, envName } from '../config/load';
import { ConfigError, SparknginError } from '../errors';
import { COMMIT, TARGET, VERSION } from '../version';
import { runDaemon } from './start';

const USAGE = `Usage: sparkngin <command> [options]

Commands:
  start            run the daemon (HTTP ingest → disk spool → sinks)
  version          print version, commit and target
  config check F   validate the YAML config file F (exit 2 when it is invalid)
  config show      print the effective configuration as JSON
  config keys      list every setting with its environment variable

Run 'sparkngin <command> --help' for the options of a command.
`;

const START_USAGE = `Usage: sparkngin start [options]

Options:
  -c, --config FILE     YAML configuration file (default: none; built-in defaults)
  -p, --port N          listen port (listen.port, default 7080)
      --host ADDR       listen address (listen.host, default 127.0.0.1)
  -d, --data-dir DIR    spool, cursors and file sink output (dataDir, default ./data)
  -k, --kafka BROKERS   comma-separated host:port list; turns the Kafka sink on
      --set KEY=VALUE   any setting by its dotted key (repeatable), e.g. --set spool.fsync=always
  -h, --help            this help

Every setting can also come from the environment: SPARKNGIN_<KEY> (see 'sparkngin config keys').
Precedence: flags > environment > file > defaults.
Signals: SIGTERM/SIGINT stop gracefully (stop ingest, sync, drain sinks for up to shutdownTimeoutMs).
`;

const CONFIG_USAGE = `Usage: sparkngin config check FILE | config show [start options] | config keys

  check FILE   validate FILE; prints every problem, exits 2 if there is any
  show         print the effective configuration (file, environment and flags applied) as JSON
  keys         list every setting key with its environment variable name
`;

const START_OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  'data-dir': { type: 'string', short: 'd' },
  kafka: { type: 'string', short: 'k' },
  set: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function configFromArgs(args: string[]) {
  const { values } = parseArgs({ args, options: START_OPTIONS, strict: true, allowPositionals: false });
  const overrides: Record<string, string> = {};
  for (const pair of values.set ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--set expects KEY=VALUE, got '${pair}'`);
    overrides[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (values.port !== undefined) overrides['listen.port'] = values.port;
  if (values.host !== undefined) overrides['listen.host'] = values.host;
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  if (values.kafka !== undefined) overrides['sinks.kafka.brokers'] = values.kafka;
  return {
    help: values.help === true,
    load: () => loadConfig({ ...(values.config === undefined ? {} : { file: values.config }), env: process.env, overrides }),
  };
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const parsed = configFromArgs(rest);
      if (parsed.help) return print(START_USAGE);
      // Exit explicitly once stopped: a client library's stray timer must not keep a stopped daemon alive.
      process.exit(await runDaemon(parsed.load()));
    }
    case 'version':
      if (rest.includes('--help') || rest.includes('-h')) return print('Usage: sparkngin version\n\nPrints version, commit and target.\n');
      return print(`sparkngin ${VERSION} (commit ${COMMIT}, ${TARGET}, node ${process.version})\n`);
    case 'config': {
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h' || subRest.includes('--help')) return print(CONFIG_USAGE);
      if (sub === 'check') {
        if (subRest.length !== 1) throw new UsageError('config check takes exactly one FILE');
        loadConfig({ file: subRest[0]! });
        return print(`${subRest[0]}: OK\n`);
      }
      if (sub === 'show') return print(`${JSON.stringify(configFromArgs(subRest).load(), null, 2)}\n`);
      if (sub === 'keys') return print(leafKeys().map((key) => `${key.padEnd(32)} ${envName(key)}\n`).join(''));
      throw new UsageError(`unknown config command '${sub}'`);
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return print(USAGE);
    case '--version':
      return main(['version']);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`sparkngin: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sparkngin: ${(error as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof SparknginError) {
      // An error we raise on purpose says what to do; a stack would only bury it.
      process.stderr.write(`sparkngin: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`sparkngin: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
