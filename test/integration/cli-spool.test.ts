// `sparkngin spool verify|info` as users run them, on spools the real daemon (or the real Spool) wrote
// and then damaged on disk.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../src/spool/spool';
import { tempDir } from '../unit/spool-helpers';
import { BUNDLE, type DaemonProcess, postEvents, runCli, startDaemon } from './daemon-process';
import { until } from '../wait';

const run = runCli;

const running: DaemonProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (running.length) await running.pop()!.close();
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * A daemon's data dir with `count` events spooled in small segments; the file sink delivered them or
 * not. A Kafka sink aimed at a closed port holds every segment on disk: without a sink that still
 * needs them, retention would delete delivered segments (about once a second) before the stop.
 */
async function spooled(count: number, fileSink: boolean): Promise<{ dataDir: string; segments: string[]; daemon: DaemonProcess }> {
  const holder = { enabled: true, brokers: ['127.0.0.1:1'], connectionTimeoutMs: 200 };
  const daemon = await startDaemon({ config: { shutdownTimeoutMs: 1000, spool: { segmentBytes: 4096 }, sinks: { file: { enabled: fileSink }, kafka: holder } } });
  running.push(daemon);
  for (let i = 0; i < count; i += 50) expect((await postEvents(daemon.url, 'events', Array.from({ length: 50 }, (_, j) => ({ n: i + j })))).status).toBe(202);
  if (fileSink) await until(async () => fileSinkLag((await (await fetch(`${daemon.url}/stats`)).json()) as Parameters<typeof fileSinkLag>[0]) === 0, 'the file sink delivered everything', 30_000);
  expect(await daemon.stop()).toBe(0);
  const dir = join(daemon.dataDir, 'spool', 'segments');
  const names = (await readdir(dir)).sort();
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size));
  return { dataDir: daemon.dataDir, daemon, segments: names.filter((_, i) => sizes[i]! > 0).map((name) => join(dir, name)) };
}

const fileSinkLag = (stats: { sinks: Array<{ sink: string; lagRecords: number }> }): number | undefined => stats.sinks.find((sink) => sink.sink === 'file')?.lagRecords;
const firstSeqOf = (segment: string): number => Number(segment.slice(-24, -4));
const nameOf = (segment: string): string => segment.slice(-24);

describe('sparkngin spool verify|info', () => {
  it('verifies an intact spool (exit 0) and shows its segments and each cursor with its lag', async () => {
    const { dataDir, segments } = await spooled(300, true);
    const verified = await run('spool', 'verify', dataDir);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`^spool ${dataDir}/spool: ${segments.length} segments, .*, 300 intact records$`, 'm'));
    expect(verified.stdout).toMatch(/^result: OK: every record intact$/m);
    const report = JSON.parse((await run('spool', 'verify', join(dataDir, 'spool'), '--json')).stdout);
    expect(report).toMatchObject({ records: 300, lostRecords: 0, damage: false, missing: [], damaged: [] });

    await writeFile(join(dataDir, 'spool', 'cursors', 'behind.json'), JSON.stringify({ nextSeq: 120 }));
    const info = await run('spool', 'info', dataDir);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^records: 0\.\.299 on disk \(next: 300\);/m);
    expect(info.stdout).toMatch(/^ {2}file +next 300 {2}lag 0$/m);
    expect(info.stdout).toMatch(/^ {2}behind +next 120 {2}lag 180$/m);
    expect(info.stdout).toContain(`  ${nameOf(segments[1]!)}  first ${firstSeqOf(segments[1]!)}`);
    const json = JSON.parse((await run('spool', 'info', dataDir, '--json')).stdout);
    expect(json.cursors).toEqual([
      { sink: 'behind', nextSeq: 120, lag: 180 },
      { sink: 'file', nextSeq: 300, lag: 0 },
      { sink: 'kafka', nextSeq: 0, lag: 300 },
    ]);
  });

  it('names every damaged stretch and missing range by segment and offset, and exits 3', async () => {
    const { dataDir, segments } = await spooled(400, false);
    expect(segments.length).toBeGreaterThan(5);
    await rm(segments[1]!); // a middle segment deleted
    const flipped = await readFile(segments[3]!);
    flipped[100] = flipped[100]! ^ 0x10; // inside the second record, most likely
    await writeFile(segments[3]!, flipped);
    await truncate(segments[4]!, (await stat(segments[4]!)).size - 5); // a sealed segment cut short

    const verified = await run('spool', 'verify', dataDir);
    expect(verified.code).toBe(3);
    const [deletedFrom, deletedTo] = [firstSeqOf(segments[1]!), firstSeqOf(segments[2]!) - 1];
    expect(verified.stdout).toContain(`missing: records ${deletedFrom}..${deletedTo} (${deletedTo - deletedFrom + 1}): segment ${nameOf(segments[1]!)} is listed in the manifest but gone`);
    expect(verified.stdout).toMatch(new RegExp(`^damaged: ${nameOf(segments[3]!)} bytes \\d+\\.\\.\\d+ `, 'm'));
    expect(verified.stdout).toMatch(new RegExp(`^missing: record \\d+ \\(1\\): ${nameOf(segments[3]!)} before byte \\d+$`, 'm'));
    expect(verified.stdout).toMatch(new RegExp(`^damaged: ${nameOf(segments[4]!)} bytes \\d+\\.\\.\\d+ `, 'm'));
    expect(verified.stdout).toMatch(new RegExp(`^missing: record ${firstSeqOf(segments[5]!) - 1} \\(1\\): between ${nameOf(segments[4]!)} byte \\d+ and ${nameOf(segments[5]!)}$`, 'm'));
    expect(verified.stdout).toMatch(/^result: DAMAGED: \d+ records lost in 3 ranges, 2 damaged stretches, 0 unreadable segments$/m);
    const report = JSON.parse((await run('spool', 'verify', dataDir, '--json')).stdout);
    expect(report.lostRecords).toBe(deletedTo - deletedFrom + 1 + 2);
    expect(report.records).toBe(400 - report.lostRecords);

    // The daemon agrees: it starts, accounts the same records as lost and delivers the rest.
    const daemon = await startDaemon({ dataDir, config: { spool: { segmentBytes: 4096 } } });
    running.push(daemon);
    const deadline = Date.now() + 20_000;
    let delivered = 0;
    while (delivered < report.records && Date.now() < deadline) {
      delivered = (await readFile(join(dataDir, 'out', 'events.ndjson'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(delivered).toBe(report.records);
    const stats = (await (await fetch(`${daemon.url}/stats`)).json()) as { spool: { lostRecords: number } };
    expect(stats.spool.lostRecords).toBe(report.lostRecords);
  });

  it('says a running daemon holds the spool, and flags a cursor past the end', async () => {
    const { dataDir, daemon } = await spooled(50, true);
    await writeFile(join(dataDir, 'spool', 'cursors', 'file.json'), JSON.stringify({ nextSeq: 999 }));
    const info = await run('spool', 'info', dataDir);
    expect(info.stdout).toMatch(/^ {2}file +next 999 {2}lag -949 {2}\(past the end of the spool: reset at the next start \(redelivery\)\)$/m);
    await daemon.restart();
    const live = await run('spool', 'verify', dataDir);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(/^note: in use by a running sparkngin \(pid \d+ on host \S+\): the newest segment is being written$/m);
  });

  it('answers usage errors with exit 2 and a missing spool with exit 1', async () => {
    expect((await run('spool')).code).toBe(2);
    expect((await run('spool', 'frobnicate', '/tmp')).code).toBe(2);
    expect((await run('spool', 'verify')).code).toBe(2);
    expect((await run('spool', '--help')).stdout).toMatch(/^Usage: sparkngin spool <command>[^]*verify DIR[^]*info DIR/);
    expect((await run('spool', 'verify', '--help')).stdout).toMatch(/^Usage: sparkngin spool verify DIR \[--json\]/);
    expect((await run('spool', 'info', '/tmp', '--nope')).stderr).toMatch(/^sparkngin: Unknown option '--nope'\n\nUsage: sparkngin spool info DIR/);
    const missing = await run('spool', 'verify', '/nonexistent-sparkngin-dir');
    expect(missing).toMatchObject({ code: 1, stderr: 'sparkngin: no spool in /nonexistent-sparkngin-dir (expected /nonexistent-sparkngin-dir/spool/segments or /nonexistent-sparkngin-dir/segments)\n' });
  });

  it('shows a progress bar on a terminal for a big spool, and none in a pipe', async () => {
    const temp = await tempDir();
    cleanups.push(temp.remove);
    const spool = await Spool.open({ dir: join(temp.dir, 'spool'), fsync: 'never', commitIntervalMs: 0, segmentBytes: 8 << 20, maxBytes: 1 << 30, maxAgeSeconds: 0, fullPolicy: 'reject' });
    for (let i = 0; i < 40; i++) await spool.append([Buffer.alloc(1 << 20, i)]);
    await spool.close();
    // script(1) runs the command on a pseudo-terminal: what a user at a terminal sees.
    const command = `${process.execPath} ${BUNDLE} spool verify ${temp.dir}`;
    const { stdout: terminal } = await promisify(execFile)('script', ['--quiet', '--return', '--command', command, '/dev/null'], { maxBuffer: 16 << 20 });
    expect(terminal).toMatch(/\rverifying \[#+ *\] +\d+% /);
    expect(terminal).toMatch(/\rverifying \[#{30}\] 100% 40\.\d MiB of 40\.\d MiB/);
    expect(terminal).toMatch(/result: OK: every record intact/);
    const piped = await run('spool', 'verify', temp.dir);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toMatch(/, 40 intact records$/m);
  });
});
