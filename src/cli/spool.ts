// `sparkngin spool verify|info DIR`: the spool examined offline (src/spool/inspect.ts), read-only.
// verify exits 0 when every record is intact, 3 when something was lost or damaged, 1 when it cannot
// read the spool, 2 on a usage error; with --json it prints the report as JSON. `spool compact DIR`
// frees the delivered head of a spool whose daemon is stopped (src/spool/compact.ts).
import { loadConfig } from '../config/load';
import { lockDataDir, probeDataDirLock } from '../daemon/data-dir-lock';
import { enabledSinks } from '../sinks/registry';
import { type CompactReport, compactSpool } from '../spool/compact';
import { SparknginError } from '../errors';
import { locateSpool, type SpoolInfo, spoolInfo, type VerifyReport, verifySpool } from '../spool/inspect';
import { type Command, commandGroup, parseOptions, print, UsageError } from './command';
import { formatBytes, progressLine } from './progress';

export const EXIT_DAMAGED = 3;
/** Spools smaller than this verify too fast for a progress bar to help. */
const PROGRESS_FROM_BYTES = 32 * 1024 * 1024;

const COMMON = `DIR is the data dir (dataDir) or its spool/ folder; --json prints the report as JSON. It only
reads: a damaged spool is repaired (damage set aside, losses counted) by the daemon at its next
start. It may run while the daemon does; the newest segment is then still being written.`;

const VERIFY_USAGE = `Usage: sparkngin spool verify DIR [--json]

Reads every record of the spool and checks its CRC; names every damaged stretch and every missing
range of records by segment and offset. Exit 0: every record intact; 3: damage found; 1: the spool
cannot be read. On a terminal, a progress bar shows on standard error for a large spool.

${COMMON}
`;

const INFO_USAGE = `Usage: sparkngin spool info DIR [--json]

Shows the spool's segments, the range of records on disk, its size, and each sink's cursor with its
lag (records spooled that the sink has not had accepted yet).

${COMMON}
`;

/** The spool has no segments folder where DIR says. */
class NoSpoolError extends SparknginError {
  constructor(dir: string) {
    super('SPOOL_NOT_FOUND', `no spool in ${dir} (expected ${dir}/spool/segments or ${dir}/segments)`);
  }
}

/** What a subcommand found: the report (for --json), its text, and the exit code. */
interface Finding {
  report: object;
  text(live: string | undefined): string;
  exit: number;
}

/** A `spool` subcommand: takes one DIR and --json, locates the spool, tells whether a daemon holds it. */
function spoolSubcommand(name: string, what: string, usage: string, examine: (spoolDir: string) => Promise<Finding>): Command {
  return {
    name,
    summary: [[`${name} DIR`, what]],
    usage,
    async run(args) {
      const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } }, usage);
      if (positionals.length !== 1) throw new UsageError(`spool ${name} takes exactly one DIR`, usage);
      const location = await locateSpool(positionals[0]!);
      if (location === undefined) throw new NoSpoolError(positionals[0]!);
      const lock = await probeDataDirLock(location.dataDir);
      const live = lock.state === 'held' ? `in use by a running sparkngin (${lock.holder}): the newest segment is being written` : undefined;
      const found = await examine(location.spoolDir);
      print(values.json === true ? `${JSON.stringify({ ...found.report, ...(live ? { live } : {}) }, null, 2)}\n` : found.text(live));
      return found.exit;
    },
  };
}

const verify = spoolSubcommand('verify', 'check every record of the spool in data dir DIR (exit 3 when damaged)', VERIFY_USAGE, async (spoolDir) => {
  const report = await verifySpool(spoolDir, progressBar());
  return { report, text: (live) => formatVerify(report, live), exit: report.damage ? EXIT_DAMAGED : 0 };
});

const info = spoolSubcommand('info', "segments, sequence range and each sink's cursor and lag", INFO_USAGE, async (spoolDir) => {
  const report = await spoolInfo(spoolDir);
  return { report, text: (live) => formatInfo(report, live), exit: 0 };
});

const COMPACT_USAGE = `Usage: sparkngin spool compact DIR [--config FILE] [--dry-run] [--json]

Frees the part of a stopped daemon's spool that every sink has delivered: deletes the segments
below the lowest sink cursor and cuts the delivered records off the head of the segment holding
it. Nothing any sink has not had is touched. The sinks are those with a cursor in the spool and,
with --config FILE (the daemon's configuration), those it enables: a sink without a cursor yet
would get everything, so then nothing is freed.

DIR is the data dir (dataDir) or its spool/ folder. It refuses to run while a daemon uses it.
  --dry-run   say what would be freed, change nothing
  --json      print the report as JSON
Exit 0 done (also when there was nothing to free), 1 the spool cannot be compacted (in use,
unreadable), 2 usage error.
`;

function formatCompact(report: CompactReport): string {
  const lines = [`spool ${report.spoolDir}${report.dryRun ? ' (dry run: nothing changed)' : ''}`];
  for (const sink of report.sinks) lines.push(`  sink ${sink.sink.padEnd(16)} ${sink.nextSeq === undefined ? '' : `cursor ${sink.nextSeq}`}${sink.problem ? `  (${sink.problem})` : ''}`);
  if (report.deliveredBelow !== undefined) lines.push(`every sink has every record below ${report.deliveredBelow}`);
  for (const name of report.deletedSegments) lines.push(`${report.dryRun ? 'would delete' : 'deleted'} ${name}`);
  if (report.cut) lines.push(`${report.dryRun ? 'would cut' : 'cut'} the first ${report.cut.records} records off ${report.cut.from} (now ${report.cut.to})`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  const freed = report.bytesBefore - report.bytesAfter;
  lines.push(freed > 0 ? `${report.dryRun ? 'would free' : 'freed'} ${formatBytes(freed)}: ${formatBytes(report.bytesBefore)} → ${formatBytes(report.bytesAfter)}` : 'nothing to free');
  return `${lines.join('\n')}\n`;
}

const compact: Command = {
  name: 'compact',
  summary: [['compact DIR', "free what every sink has delivered, in a stopped daemon's spool"]],
  usage: COMPACT_USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(args, { config: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } }, COMPACT_USAGE);
    if (positionals.length !== 1) throw new UsageError('spool compact takes exactly one DIR', COMPACT_USAGE);
    const location = await locateSpool(positionals[0]!);
    if (location === undefined) throw new NoSpoolError(positionals[0]!);
    const configuredSinks = values.config === undefined ? [] : enabledSinks(loadConfig({ file: values.config })).map((sink) => sink.name);
    // As the daemon does: one user of the spool at a time (a running daemon makes this fail, naming it).
    const lock = await lockDataDir(location.dataDir);
    try {
      const report = await compactSpool(location.spoolDir, { configuredSinks, dryRun: values['dry-run'] === true });
      print(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatCompact(report));
      return 0;
    } finally {
      await lock.release();
    }
  },
};

export const spoolCommand = commandGroup('spool', 'Examine a spool offline (verify and info only read; compact frees what is delivered).', [verify, info, compact]);

/** A bar on stderr while a big spool is read, when stderr is a terminal; nothing otherwise. */
function progressBar(): ((done: number, total: number) => void) | undefined {
  const line = progressLine('verifying', formatBytes);
  if (line === undefined) return undefined;
  return (done, total) => {
    if (total < PROGRESS_FROM_BYTES) return;
    line.update(done, total);
    if (done >= total) line.end();
  };
}

const seqRange = (from: number | undefined, to: number | undefined): string => (from === undefined || to === undefined ? 'no records' : from === to ? `record ${from}` : `records ${from}..${to}`);

function manifestLine(manifest: VerifyReport['manifest']): string {
  if (manifest.kind === 'manifest') {
    const { segments, nextSeq } = manifest.manifest;
    return `manifest: ${segments.length} segments listed, ${nextSeq === 0 ? 'no records written yet' : `records written up to ${nextSeq - 1}`}`;
  }
  if (manifest.kind === 'absent') return 'manifest: none (a spool from before it): missing segments at either end cannot be told';
  return `manifest: unusable (${manifest.why}); rewritten at the next start`;
}

function formatVerify(report: VerifyReport, live: string | undefined): string {
  const lines = [`spool ${report.spoolDir}: ${report.segments.length} segments, ${formatBytes(report.bytes)}, ${report.records} intact records`, manifestLine(report.manifest)];
  if (live) lines.push(`note: ${live}`);
  for (const segment of report.segments) {
    const { scan } = segment;
    const damaged = report.damaged.some((stretch) => stretch.segment === segment.name) || (scan?.gaps.length ?? 0) > 0;
    const state = segment.unreadable ? `UNREADABLE (${segment.unreadable})` : damaged ? 'DAMAGED' : 'ok';
    lines.push(`  ${segment.name}  ${seqRange(scan?.firstSeq, scan?.lastSeq).padEnd(24)} ${formatBytes(segment.bytes).padStart(10)}  ${state}`);
  }
  for (const stretch of report.damaged) lines.push(`damaged: ${stretch.segment} bytes ${stretch.from}..${stretch.to - 1} (${stretch.to - stretch.from} bytes that are not intact records)`);
  for (const gap of report.missing) lines.push(`missing: ${seqRange(gap.fromSeq, gap.toSeq)} (${gap.toSeq - gap.fromSeq + 1}): ${gap.where}`);
  if (report.tornTail) lines.push(`torn tail: ${report.tornTail.segment} ends with ${report.tornTail.bytes} bytes of an unfinished write (cut at the next start)`);
  for (const stray of report.strays) lines.push(`stray: ${stray.path}: ${stray.why} (set aside at the next start)`);
  const unreadable = report.segments.filter((segment) => segment.unreadable !== undefined).length;
  lines.push(
    report.damage
      ? `result: DAMAGED: ${report.lostRecords} records lost in ${report.missing.length} ranges, ${report.damaged.length} damaged stretches, ${unreadable} unreadable segments`
      : 'result: OK: every record intact',
  );
  return `${lines.join('\n')}\n`;
}

function formatInfo(info: SpoolInfo, live: string | undefined): string {
  const lines = [
    `spool ${info.spoolDir}`,
    manifestLine(info.manifest),
    `${info.firstSeq < info.nextSeq ? `records: ${info.firstSeq}..${info.nextSeq - 1} on disk` : 'records: none on disk'} (next: ${info.nextSeq}); ${info.segments.length} segments, ${formatBytes(info.bytes)}`,
  ];
  if (live) lines.push(`note: ${live}`);
  for (const segment of info.segments) lines.push(`  ${segment.name}  first ${String(segment.firstSeq).padEnd(12)} ${formatBytes(segment.bytes).padStart(10)}  ${segment.modified}`);
  for (const stray of info.strays) lines.push(`stray: ${stray.path}: ${stray.why}`);
  if (info.quarantined.length > 0) lines.push(`quarantine: ${info.quarantined.length} files set aside in ${info.spoolDir}/quarantine (look, then remove them): ${info.quarantined.join(' ')}`);
  lines.push(info.cursors.length === 0 ? 'cursors: none (no sink has delivered yet)' : 'cursors:');
  for (const cursor of info.cursors) {
    const position = cursor.nextSeq === undefined ? '' : `next ${cursor.nextSeq}  lag ${cursor.lag}`;
    lines.push(`  ${cursor.sink.padEnd(16)} ${position}${cursor.problem ? `  (${cursor.problem})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
