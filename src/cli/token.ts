// `sparkngin token new|hash`: makes the credentials of auth.tokens and ops.tokens. The token is
// printed once and never stored; the configuration gets only its SHA-256 (see ingest/auth.ts).
import { readFileSync } from 'node:fs';
import { newToken, tokenSha256 } from '../ingest/auth';
import { type Command, commandGroup, parseOptions, print, UsageError } from './command';

const NEW_USAGE = `Usage: sparkngin token new [--name NAME] [--topics PATTERNS | --ops]

Prints a new random token (256 bits) on the first line, then the line to add under auth.tokens
in the configuration (with --ops, under ops.tokens): its name, its SHA-256 and its topics.

Options:
      --name NAME         who will hold it (default: client, or ops with --ops)
      --topics PATTERNS   comma-separated topic patterns it may write (default: *)
      --ops               a token for the operations endpoints (/ready, /stats, /metrics)
  -h, --help              this help

The token is shown only once: give it to the client and keep no other copy. The configuration
holds only its hash; revoke a token by deleting its line and restarting.
`;

const tokenNew: Command = {
  name: 'new',
  summary: [['new', 'make a token for auth.tokens or ops.tokens (printed once)']],
  usage: NEW_USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, { name: { type: 'string' }, topics: { type: 'string' }, ops: { type: 'boolean' } }, NEW_USAGE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, NEW_USAGE);
    if (values.ops && values.topics !== undefined) throw new UsageError('--ops and --topics do not go together: an ops token writes no topic', NEW_USAGE);
    const name = values.name ?? (values.ops ? 'ops' : 'client');
    if (!/^[\w.@-]+$/.test(name)) throw new UsageError(`--name: use letters, digits and . _ @ -, got '${name}'`, NEW_USAGE);
    const topics = (values.topics ?? '*').split(',').map((topic) => topic.trim()).filter(Boolean);
    const token = newToken();
    const record = `{name: ${name}, sha256: ${tokenSha256(token)}${values.ops ? '' : `, topics: [${topics.map((topic) => JSON.stringify(topic)).join(', ')}]`}}`;
    // The token alone on the first line, for scripts: TOKEN=$(sparkngin token new | head -1).
    return print(`${token}\n\n# Under ${values.ops ? 'ops' : 'auth'}: tokens: in sparkngin.yaml, then restart:\n  - ${record}\n`);
  },
};

const HASH_USAGE = `Usage: sparkngin token hash < TOKEN

Prints the SHA-256 of the token on standard input (one trailing line break ignored), for a secret
made elsewhere: the value of sha256 in auth.tokens or ops.tokens.
`;

const tokenHash: Command = {
  name: 'hash',
  summary: [['hash', 'print the SHA-256 of a token read from standard input']],
  usage: HASH_USAGE,
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, HASH_USAGE);
    const token = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (token === '') throw new UsageError('no token on standard input', HASH_USAGE);
    return print(`${tokenSha256(token)}\n`);
  },
};

export const tokenCommand = commandGroup('token', 'Makes the tokens of auth.tokens and ops.tokens.', [tokenNew, tokenHash]);
