// The `sparkngin` command: the table of commands, and how an outcome becomes an exit code.
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
import { isMainThread, workerData } from 'node:worker_threads';
import { DELIVERY_ROLE } from '../delivery/protocol';
import { INGEST_ROLE } from '../ingest/threads/protocol';
import { ConfigError, SparknginError } from '../errors';
import { type Command, commandList, print, runCommand, unknownCommand, UsageError } from './command';

/**
 * Every command, in the order the usage lists them; a new command is its module and one line here.
 * Each module is loaded only when its command runs: `start` then evaluates none of the others'
 * libraries (kafkajs for `check` and `agent`, discovery, the client), which every start evaluated
 * before (bench/RESULTS.md, "Start-up, third round"). The usage text, which needs them all, loads them all.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Command>]> = [
  ['start', async () => (await import('./start')).startCommand],
  ['version', async () => (await import('./version')).versionCommand],
  ['config', async () => (await import('./config')).configCommand],
  ['spool', async () => (await import('./spool')).spoolCommand],
  ['token', async () => (await import('./token')).tokenCommand],
  ['discover', async () => (await import('./discover')).discoverCommand],
  ['send', async () => (await import('./send')).sendCommand],
  ['drain', async () => (await import('./drain')).drainCommand],
  ['status', async () => (await import('./status')).statusCommand],
  ['top', async () => (await import('./status')).topCommand],
  ['check', async () => (await import('./check')).checkCommand],
  ['agent', async () => (await import('./agent')).agentCommand],
  ['zmq-keys', async () => (await import('./zmq-keys')).zmqKeysCommand],
];

/** The loader of the command named `name`, if there is one. */
const loaderOf = (name: string) => COMMANDS.find(([candidate]) => candidate === name)?.[1];

const allCommands = (): Promise<Command[]> => Promise.all(COMMANDS.map(([, load]) => load()));

const usage = async (): Promise<string> => `Usage: sparkngin <command> [options]

Commands:
${commandList(await allCommands())}
Run 'sparkngin <command> --help' for the options of a command.
Exit status: 0 done, 1 runtime failure, 2 usage or configuration error.
`;

export async function main(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  switch (word) {
    case undefined:
      throw new UsageError('a command is needed', await usage());
    case '--help':
    case '-h':
      return print(await usage());
    case 'help': {
      // `sparkngin help config` is `sparkngin config --help`.
      if (rest[0] === undefined) return print(await usage());
      const about = loaderOf(rest[0]);
      if (about === undefined) throw unknownCommand(rest[0], await allCommands(), '', await usage());
      return runCommand(await about(), [...rest.slice(1), '--help']);
    }
    case '--version':
      return runCommand((await import('./version')).versionCommand, rest);
  }
  const command = loaderOf(word);
  if (command === undefined) throw unknownCommand(word, await allCommands(), '', await usage());
  return runCommand(await command(), rest);
}

// The same script runs the daemon's delivery threads (src/delivery/), one per sink.
const role = isMainThread ? undefined : (workerData as { role?: unknown } | null)?.role;
if (role === DELIVERY_ROLE) void import('../delivery/worker').then(({ runDeliveryThread }) => runDeliveryThread());
// And its ingest threads (src/ingest/threads/), with http.threads > 1.
else if (role === INGEST_ROLE) void import('../ingest/threads/thread').then(({ runIngestThread }) => runIngestThread());
else void main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`sparkngin: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof UsageError) {
      process.stderr.write(`sparkngin: ${error.message}\n\n${error.usage}`);
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
