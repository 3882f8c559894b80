// `sparkngin config check|show|keys`: validate a file, print the effective configuration, list the keys.
import { describeUnknownEnv, unknownEnvVariables } from '../config/env';
import { envName, leafKeys, loadConfig } from '../config/load';
import { redactConfig } from '../ops/redact';
import { type Command, commandGroup, print, UsageError } from './command';
import { configFromArgs, START_OPTIONS_HELP } from './start-options';

const CHECK_USAGE = `Usage: sparkngin config check FILE

Validates the YAML configuration FILE together with the SPARKNGIN_* environment, as 'sparkngin start
--config FILE' would use them: prints every problem (the key, the value, what was expected) and exits
2 if there is any, 0 when the configuration is valid. SPARKNGIN_* variables that are not settings
(typos) are named as warnings; they do not change the exit status.
`;

const check: Command = {
  name: 'check',
  summary: [['check FILE', 'validate the YAML config file FILE (exit 2 when it is invalid)']],
  usage: CHECK_USAGE,
  async run(args) {
    if (args.length !== 1) throw new UsageError('config check takes exactly one FILE', CHECK_USAGE);
    warnUnknownEnv();
    loadConfig({ file: args[0]!, env: process.env });
    return print(`${args[0]}: OK\n`);
  },
};

const SHOW_USAGE = `Usage: sparkngin config show [start options]

Prints the effective configuration as JSON: the file, the environment and the flags given applied,
exactly as 'sparkngin start' with the same options would use it. Secrets (passwords, passphrases,
token hashes) are shown as (redacted).

${START_OPTIONS_HELP}`;

const show: Command = {
  name: 'show',
  summary: [['show', 'print the effective configuration as JSON']],
  usage: SHOW_USAGE,
  async run(args) {
    const load = configFromArgs(args, SHOW_USAGE);
    warnUnknownEnv();
    return print(`${JSON.stringify(redactConfig(load()), null, 2)}\n`);
  },
};

const KEYS_USAGE = 'Usage: sparkngin config keys\n\nLists every setting key with its environment variable name.\n';

const keys: Command = {
  name: 'keys',
  summary: [['keys', 'list every setting with its environment variable']],
  usage: KEYS_USAGE,
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, KEYS_USAGE);
    return print(leafKeys().map((key) => `${key.padEnd(32)} ${envName(key)}\n`).join(''));
  },
};

function warnUnknownEnv(): void {
  for (const unknown of unknownEnvVariables(process.env)) process.stderr.write(`sparkngin: warning: ${describeUnknownEnv(unknown)}\n`);
}

export const configCommand = commandGroup('config', 'Validates and shows the configuration.', [check, show, keys]);
