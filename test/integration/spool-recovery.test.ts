// A spool damaged while the daemon was down (or under it): the newest segment cut mid-record, a byte
// flipped, a segment deleted or made unreadable, a cursor past the end, a stray file. The daemon must
// start, say what it found (lost ranges at error, in /stats and /metrics), deliver every intact
// record, and keep serving.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLE, type DaemonOptions, type DaemonProcess, fileSinkLines, postEvents, startDaemon } from './daemon-process';

const running: DaemonProcess[] = [];
const tempDirs: string[] = [];
afterEach(async () => {
  // The last one started owns nothing; the first one owns (and removes) the temp data dir.
  while (running.length) await running.pop()!.close();
  while (tempDirs.length) await rm(tempDirs.pop()!, { recursive: true, force: true });
});

const NOBODY = 65534;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
/** Small segments, so that a few hundred events make several. */
const SMALL_SEGMENTS = { spool: { segmentBytes: 4096 } };

interface Spooled {
  daemon: DaemonProcess;
  /** Segment files holding records, in order. */
  segments: string[];
}

/**
 * Spools `count` events (n = 0..count-1, one record each, so n is the sequence number) with the file
 * sink off, then stops. A Kafka sink aimed at a closed port holds the records meanwhile: with no sink
 * at all, retention would rightly delete sealed segments as delivered to nobody.
 */
async function spoolUndelivered(count = 100, options: Pick<DaemonOptions, 'dataDir' | 'launcher'> = {}): Promise<Spooled> {
  const holder = { kafka: { enabled: true, brokers: ['127.0.0.1:1'], connectionTimeoutMs: 200 } };
  const started = await startDaemon({ ...options, config: { ...SMALL_SEGMENTS, shutdownTimeoutMs: 1000, sinks: { file: { enabled: false }, ...holder } } });
  running.push(started);
  for (let i = 0; i < count; i += 25) {
    const events = Array.from({ length: Math.min(25, count - i) }, (_, j) => ({ n: i + j }));
    expect((await postEvents(started.url, 'events', events)).status).toBe(202);
  }
  expect(await started.stop()).toBe(0);
  const dir = join(started.dataDir, 'spool', 'segments');
  const segments = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
  const sizes = await Promise.all(segments.map(async (name) => (await stat(join(dir, name))).size));
  return { daemon: started, segments: segments.filter((_, i) => sizes[i]! > 0).map((name) => join(dir, name)) };
}

async function restart(spooled: Spooled, launcher?: string[]): Promise<DaemonProcess> {
  const daemon = await startDaemon({ dataDir: spooled.daemon.dataDir, config: SMALL_SEGMENTS, ...(launcher ? { launcher } : {}) });
  running.push(daemon);
  return daemon;
}

async function delivered(dir: string, count: number): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ns = (await fileSinkLines(join(dir, 'out', 'events.ndjson'))).map((line) => line.data.n as number);
    if (ns.length >= count || Date.now() > deadline) return ns;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const firstSeqOf = (segment: string): number => Number(segment.slice(-24, -4));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const logLines = (daemon: DaemonProcess, event: string) =>
  daemon
    .logs()
    .split('\n')
    .filter((line) => line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line));
const stats = async (daemon: DaemonProcess) => (await (await fetch(`${daemon.url}/stats`)).json()) as { spool: Record<string, any> };
const metric = async (daemon: DaemonProcess, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${daemon.url}/metrics`)).text())?.[1]);

describe('spool recovery in the running daemon', () => {
  it('starts on a segment cut mid-record, reports it, delivers the 99 intact events', async () => {
    const spooled = await spoolUndelivered();
    const newest = spooled.segments.at(-1)!;
    await truncate(newest, (await stat(newest)).size - 10);
    const daemon = await restart(spooled); // file sink on again
    expect(daemon.logs()).toMatch(/spool.torn_tail_truncated/);
    // The daemon stopped cleanly after the 100th event: it was acknowledged, so it is counted lost.
    expect(logLines(daemon, 'spool.records_lost')).toMatchObject([{ level: 'error', fromSeq: 99, toSeq: 99 }]);
    expect(await delivered(daemon.dataDir, 99)).toEqual(range(0, 98));
    expect((await postEvents(daemon.url, 'events', [{ n: 100 }])).status).toBe(202);
  });

  it('starts on a segment with a flipped byte, reports the damage, delivers the 99 intact events', async () => {
    const spooled = await spoolUndelivered();
    const newest = spooled.segments.at(-1)!;
    const bytes = await readFile(newest);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(newest, bytes);
    const daemon = await restart(spooled);
    expect(daemon.logs()).toMatch(/spool.damage_found/);
    const ns = await delivered(daemon.dataDir, 99);
    expect(ns).toHaveLength(99);
    expect(new Set(ns).size).toBe(99);
    const [lost] = logLines(daemon, 'spool.records_lost');
    expect(ns).toEqual(range(0, 99).filter((n) => n !== lost.fromSeq));
    expect((await stats(daemon)).spool).toMatchObject({ lostRecords: 1, damagedStretches: 1 });
  });

  it('finds a deleted middle segment: its exact range at error, in /stats and /metrics, the rest delivered', async () => {
    const spooled = await spoolUndelivered(300);
    expect(spooled.segments.length).toBeGreaterThan(3);
    const [fromSeq, toSeq] = [firstSeqOf(spooled.segments[1]!), firstSeqOf(spooled.segments[2]!) - 1];
    await rm(spooled.segments[1]!);
    const daemon = await restart(spooled);
    expect(logLines(daemon, 'spool.records_lost')).toMatchObject([{ level: 'error', fromSeq, toSeq, reason: 'missing', file: spooled.segments[1] }]);
    expect(await delivered(daemon.dataDir, 300 - (toSeq - fromSeq + 1))).toEqual(range(0, 299).filter((n) => n < fromSeq || n > toSeq));
    expect((await stats(daemon)).spool).toMatchObject({ lostRecords: toSeq - fromSeq + 1, lostRanges: 1, recentLosses: [{ fromSeq, toSeq, reason: 'missing' }] });
    expect(await metric(daemon, 'sparkngin_spool_lost_records_total')).toBe(toSeq - fromSeq + 1);
    expect(await metric(daemon, 'sparkngin_sink_skipped_records_total\\{sink="file"\\}')).toBe(toSeq - fromSeq + 1);
  });

  it('resets a sink cursor past the end of the spool: redelivers, then takes new events (lag not hidden)', async () => {
    const first = await startDaemon({});
    running.push(first);
    expect((await postEvents(first.url, 'events', range(0, 19).map((n) => ({ n })))).status).toBe(202);
    expect(await delivered(first.dataDir, 20)).toHaveLength(20);
    expect(await first.stop()).toBe(0);
    await writeFile(join(first.dataDir, 'spool', 'cursors', 'file.json'), JSON.stringify({ nextSeq: 5_000_000 }));
    const daemon = await startDaemon({ dataDir: first.dataDir });
    running.push(daemon);
    expect(logLines(daemon, 'spool.cursor_reset')).toMatchObject([{ level: 'error', sink: 'file', spoolNextSeq: 20 }]);
    expect((await postEvents(daemon.url, 'events', [{ n: 20 }])).status).toBe(202);
    const ns = await delivered(daemon.dataDir, 41);
    expect(ns.slice(20)).toEqual(range(0, 20)); // everything spooled again (at least once), then the new one
    expect(await metric(daemon, 'sparkngin_spool_cursor_resets_total')).toBe(1);
  });

  it('starts and serves with a stray segment-named file past 2^48 in the spool', async () => {
    const spooled = await spoolUndelivered(10);
    const stray = join(spooled.daemon.dataDir, 'spool', 'segments', '99999999999999999999.seg');
    await writeFile(stray, 'not a segment');
    const daemon = await restart(spooled);
    for (let n = 10; n < 13; n++) expect((await postEvents(daemon.url, 'events', [{ n }])).status).toBe(202);
    expect(await delivered(daemon.dataDir, 13)).toEqual(range(0, 12));
    expect(logLines(daemon, 'spool.stray_file')).toMatchObject([{ file: stray }]);
    expect(await stat(join(daemon.dataDir, 'spool', 'quarantine', '99999999999999999999.seg'))).toBeTruthy();
    const info = await promisify(execFile)(process.execPath, [BUNDLE, 'spool', 'info', daemon.dataDir]);
    expect(info.stdout).toMatch(/^quarantine: 1 files set aside in .*\/spool\/quarantine \(look, then remove them\): 99999999999999999999\.seg$/m);
  });

  // Needs root to run the daemon as another user (root itself reads any file).
  it.skipIf(process.geteuid?.() !== 0)('quarantines a segment the daemon user may not read (EACCES), delivers the rest, keeps the sink going', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-it-eacces-'));
    tempDirs.push(dataDir);
    await chown(dataDir, NOBODY, NOBODY);
    const spooled = await spoolUndelivered(300, { dataDir, launcher: AS_NOBODY });
    const unreadable = spooled.segments[1]!;
    const [fromSeq, toSeq] = [firstSeqOf(unreadable), firstSeqOf(spooled.segments[2]!) - 1];
    await chmod(unreadable, 0o000); // the sink's reader meets it after start: open() fails with EACCES
    const daemon = await restart(spooled, AS_NOBODY);
    const expected = range(0, 299).filter((n) => n < fromSeq || n > toSeq);
    expect(await delivered(dataDir, expected.length)).toEqual(expected);
    expect(logLines(daemon, 'spool.segment_quarantined')).toMatchObject([{ level: 'error', file: unreadable, fromSeq, toSeq, error: { code: 'EACCES' } }]);
    expect((await stats(daemon)).spool).toMatchObject({ quarantinedSegments: 1, lostRecords: toSeq - fromSeq + 1 });
    expect(await stat(join(dataDir, 'spool', 'quarantine', unreadable.slice(-24)))).toBeTruthy();
    // The sink was not stopped: new events still go out.
    expect((await postEvents(daemon.url, 'events', [{ n: 300 }])).status).toBe(202);
    expect((await delivered(dataDir, expected.length + 1)).at(-1)).toBe(300);
  });
});
