// `sparkngin status` and `sparkngin top`: the status page in a terminal (src/ops/status-text.ts),
// from a daemon's /stats. `status` prints it once and says by its exit code whether the instance is
// well (0), has problems (3: what GET /imok would answer 503 for) or cannot be asked (1); `top`
// redraws it in place every --interval seconds until Ctrl-C (or --count frames; without a terminal
// it prints the frames one after the other).
import type { DaemonStats } from '../daemon/daemon';
import { renderStatus } from '../ops/status-text';
import { type Command, parseOptions, UsageError } from './command';
import { OPS_CLIENT_OPTIONS, OPS_CLIENT_USAGE, opsGet, type OpsTarget, opsTarget } from './ops-client';

export const EXIT_PROBLEMS = 3;

const STATUS_USAGE = `Usage: sparkngin status [--url URL | --config FILE] [--token TOKEN] [--ca FILE] [--json]

Shows a running daemon's status from its /stats: whether it is well, its rates of the last minutes,
its spool, and each sink's state, lag and last error (the status page, in a terminal).

${OPS_CLIENT_USAGE}
  --json           print /stats as JSON instead

Exit status: 0 well; 3 problems (listed; what GET /imok answers 503 for); 1 the daemon cannot be
asked; 2 usage error.
`;

const TOP_USAGE = `Usage: sparkngin top [--url URL | --config FILE] [--token TOKEN] [--ca FILE] [--interval SECS] [--count N]

Shows a running daemon's status (as 'sparkngin status' does) and redraws it in place every
--interval seconds (default 2) until Ctrl-C, or --count times.

${OPS_CLIENT_USAGE}

Exit status: 0 when stopped; 1 the daemon cannot be asked; 2 usage error.
`;

async function fetchStats(target: OpsTarget): Promise<DaemonStats> {
  return JSON.parse(await opsGet(target, 'stats')) as DaemonStats;
}

const columns = () => process.stdout.columns ?? 120;

export const statusCommand: Command = {
  name: 'status',
  summary: [['status', "a running daemon's status: health, rates, spool, each sink (exit 3: problems)"]],
  usage: STATUS_USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, { ...OPS_CLIENT_OPTIONS, json: { type: 'boolean' } }, STATUS_USAGE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, STATUS_USAGE);
    const stats = await fetchStats(opsTarget(values, STATUS_USAGE));
    process.stdout.write(values.json === true ? `${JSON.stringify(stats, null, 2)}\n` : renderStatus(stats, columns()));
    return stats.problems.length === 0 ? 0 : EXIT_PROBLEMS;
  },
};

export const topCommand: Command = {
  name: 'top',
  summary: [['top', 'the same, redrawn every few seconds until Ctrl-C']],
  usage: TOP_USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, { ...OPS_CLIENT_OPTIONS, interval: { type: 'string' }, count: { type: 'string' } }, TOP_USAGE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, TOP_USAGE);
    const seconds = values.interval === undefined ? 2 : Number(values.interval);
    if (!Number.isFinite(seconds) || seconds < 0.1) throw new UsageError(`--interval: expected seconds (at least 0.1), got '${values.interval}'`, TOP_USAGE);
    const count = values.count === undefined ? Infinity : Number(values.count);
    if (!Number.isInteger(count) && count !== Infinity) throw new UsageError(`--count: expected a whole number, got '${values.count}'`, TOP_USAGE);
    const target = opsTarget(values, TOP_USAGE);
    const terminal = process.stdout.isTTY === true;
    let stopped = false;
    const stop = () => (stopped = true);
    process.once('SIGINT', stop);
    try {
      for (let frame = 0; frame < count && !stopped; frame++) {
        const text = renderStatus(await fetchStats(target), columns());
        // In place: (the first time: hide the cursor, clear the screen) cursor home, the frame with
        // each line's old end cleared, then clear what an older, longer frame left below.
        const start = frame === 0 ? '\x1b[?25l\x1b[2J' : '';
        process.stdout.write(terminal ? `${start}\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J` : `${text}\n`);
        if (frame + 1 < count) await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
    } finally {
      process.off('SIGINT', stop);
      if (terminal) process.stdout.write('\x1b[?25h');
    }
    return 0;
  },
};
