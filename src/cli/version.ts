// `sparkngin version` (and `sparkngin --version`).
import { COMMIT, TARGET, VERSION } from '../version';
import { type Command, print, UsageError } from './command';

const USAGE = 'Usage: sparkngin version\n\nPrints version, commit and target.\n';

export const versionCommand: Command = {
  name: 'version',
  summary: [['version', 'print version, commit and target']],
  usage: USAGE,
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, USAGE);
    return print(`sparkngin ${VERSION} (commit ${COMMIT}, ${TARGET}, node ${process.version})\n`);
  },
};
