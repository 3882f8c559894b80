// The `sparkngin` command: the table of commands, and how an outcome becomes an exit code.
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
import { isMainThread, workerData } from 'node:worker_threads';
import { DELIVERY_ROLE } from '../delivery/protocol';
import { runDeliveryThread } from '../delivery/worker';
import { ConfigError, SparknginError } from '../errors';
import { agentCommand } from './agent';
import { checkCommand } from './check';
import { type Command, commandList, print, runCommand, unknownCommand, UsageError } from './command';
import { configCommand } from './config';
import { discoverCommand } from './discover';
import { drainCommand } from './drain';
import { sendCommand } from './send';
import { spoolCommand } from './spool';
import { startCommand } from './start';
import { statusCommand, topCommand } from './status';
import { tokenCommand } from './token';
import { versionCommand } from './version';
import { zmqKeysCommand } from './zmq-keys';

/** Every command, in the order the usage lists them. A new command is its module and one line here. */
const COMMANDS: readonly Command[] = [startCommand, versionCommand, configCommand, spoolCommand, tokenCommand, discoverCommand, sendCommand, drainCommand, statusCommand, topCommand, checkCommand, agentCommand, zmqKeysCommand];

const USAGE = `Usage: sparkngin <command> [options]

Commands:
${commandList(COMMANDS)}
Run 'sparkngin <command> --help' for the options of a command.
Exit status: 0 done, 1 runtime failure, 2 usage or configuration error.
`;

export async function main(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  switch (word) {
    case undefined:
      throw new UsageError('a command is needed', USAGE);
    case '--help':
    case '-h':
      return print(USAGE);
    case 'help': {
      // `sparkngin help config` is `sparkngin config --help`.
      if (rest[0] === undefined) return print(USAGE);
      const about = COMMANDS.find((command) => command.name === rest[0]);
      if (about === undefined) throw unknownCommand(rest[0], COMMANDS, '', USAGE);
      return runCommand(about, [...rest.slice(1), '--help']);
    }
    case '--version':
      return runCommand(versionCommand, rest);
  }
  const command = COMMANDS.find((candidate) => candidate.name === word);
  if (command === undefined) throw unknownCommand(word, COMMANDS, '', USAGE);
  return runCommand(command, rest);
}

// The same script runs the daemon's delivery threads (src/delivery/), one per sink.
if (!isMainThread && (workerData as { role?: unknown } | null)?.role === DELIVERY_ROLE) runDeliveryThread();
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
