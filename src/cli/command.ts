// The shape every `sparkngin` command has: a name, the lines it adds to the top-level usage, its own
// usage text and a run function returning the exit code. A command with subcommands (`config check`,
// `spool verify`) is a group of such commands, so a usage error anywhere prints the usage of the
// command it concerns, never the whole list. Adding a command is one module and one line in the
// table of main.ts.
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SparknginError } from '../errors';
import { nearest } from '../config/nearest';

export interface Command {
  /** The word that selects it: `sparkngin <name>`. */
  readonly name: string;
  /** Its lines in the top-level usage: the form (`check FILE`) and what it does. */
  readonly summary: ReadonlyArray<readonly [form: string, what: string]>;
  /** What `--help` prints, and what a usage error prints after the message. */
  readonly usage: string;
  /** Runs it with the arguments after its name (help already handled); resolves to the exit code. */
  run(args: string[]): Promise<number>;
  /** Set for a group (`config`): its subcommands, each with its own usage and help. */
  readonly subcommands?: readonly Command[];
}

/** The command line cannot be understood; exit 2 with `usage` (the concerned command's) after the message. */
export class UsageError extends SparknginError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super('USAGE_INVALID', message);
  }
}

/** `-h`/`--help` among the arguments (before a `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '-h' || arg === '--help');
}

/** Runs `command` with `args`: prints its usage for `--help` (a group: for its subcommand's), otherwise its exit code. */
export async function runCommand(command: Command, args: string[]): Promise<number> {
  if (command.subcommands === undefined && wantsHelp(args)) return print(command.usage);
  return command.run(args);
}

/** node:util parseArgs whose errors (unknown option, missing value) are usage errors of `usage`. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    // Node's text goes on about '--' after its first sentence ("Unknown option '--nope'. To specify…").
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message.split('. ')[0]!, usage);
    throw error;
  }
}

/** The usage error for a word that names no command of `commands`, suggesting the nearest one. */
export function unknownCommand(word: string, commands: readonly Command[], prefix: string, usage: string): UsageError {
  const guess = nearest(word, commands.map((command) => command.name));
  const hint = guess === undefined ? '' : `; did you mean '${prefix}${guess}'?`;
  return new UsageError(`unknown command '${prefix}${word}'${hint}`, usage);
}

/** Renders the `Commands:` block of a usage text from the commands' summaries. */
export function commandList(commands: readonly Command[]): string {
  const lines = commands.flatMap((command) => command.summary);
  const width = Math.max(...lines.map(([form]) => form.length)) + 3;
  return lines.map(([form, what]) => `  ${form.padEnd(width)}${what}\n`).join('');
}

/**
 * A command made of subcommands (`sparkngin config check|show|keys`): each subcommand is a Command
 * of its own (name `check`, usage `Usage: sparkngin config check FILE…`).
 */
export function commandGroup(name: string, intro: string, subcommands: readonly Command[]): Command {
  const usage = `Usage: sparkngin ${name} <command> [options]\n\n${intro}\n\nCommands:\n${commandList(subcommands)}\nRun 'sparkngin ${name} <command> --help' for the options of a command.\n`;
  return {
    name,
    summary: subcommands.flatMap((sub) => sub.summary.map(([form, what]) => [`${name} ${form}`, what] as const)),
    usage,
    subcommands,
    async run(args) {
      const [word, ...rest] = args;
      if (word === undefined) throw new UsageError(`'${name}' needs a command`, usage);
      if (word === 'help' || wantsHelp([word])) return print(usage);
      const sub = subcommands.find((command) => command.name === word);
      if (sub === undefined) throw unknownCommand(word, subcommands, `${name} `, usage);
      return runCommand(sub, rest);
    },
  };
}

export function print(text: string): number {
  process.stdout.write(text);
  return 0;
}
