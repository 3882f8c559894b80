// A fresh data dir survives a power loss once it acknowledged a record: every directory the daemon
// made on the way to its spool has its entry synced (its parent fsynced) before the first record is
// written, as every file it relies on is; the file sink's new file is synced into its directory
// before the sink's cursor moves past what it wrote there. Seen in the real daemon's system calls
// (strace -f -y).
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postEvents, startDaemon } from './daemon-process';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Call {
  name: string;
  args: string;
  result: string;
}

/** strace -f -o lines as completed calls, in the order they completed (an unfinished call completes at its resumption). */
function calls(trace: string): Call[] {
  const pending = new Map<string, string>();
  const out: Call[] = [];
  for (const line of trace.split('\n')) {
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid, rest] = match as unknown as [string, string, string];
    let text = rest;
    if (text.endsWith('<unfinished ...>')) {
      pending.set(pid, text.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(text);
    if (resumed) {
      text = (pending.get(pid) ?? '') + resumed[1]!;
      pending.delete(pid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(text);
    if (call) out.push({ name: call[1]!, args: call[2]!, result: call[3]! });
  }
  return out;
}

/** The system calls of a daemon on `dataDir` that took one event on `topic`, from its start to its stop. */
async function tracedDaemon(root: string, dataDir: string, topic: string): Promise<Call[]> {
  const trace = join(root, 'trace.txt');
  const daemon = await startDaemon({ dataDir, launcher: ['strace', '-f', '-y', '-qq', '-e', 'trace=mkdir,mkdirat,fsync,pwrite64,pwritev,write,rename', '-o', trace, '--'] });
  cleanups.push(() => daemon.close());
  expect((await postEvents(daemon.url, topic, [{ n: 1 }], '?ack=sink')).status).not.toBe(503);
  // strace keeps a SIGTERM from its tracee: the daemon is told itself (its pid is in the lock file), strace ends with it.
  const pid = Number(/^pid (\d+)/.exec(await readFile(join(dataDir, '.lock'), 'utf8'))![1]);
  process.kill(pid, 'SIGTERM');
  expect(await daemon.stop()).toBe(0);
  return calls(await readFile(trace, 'utf8'));
}

/** The call is a successful fsync of the directory `dir` (strace -y names a descriptor's file). */
const syncs = (call: Call, dir: string) => call.name === 'fsync' && call.result === '0' && call.args.replace(/^\d+/, '') === `<${dir}>`;

describe('a fresh data dir', () => {
  it('has each directory it made synced into its parent before the first record is written, and the file sink\'s new file into its directory before its cursor moves', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sparkngin-durable-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dataDir = join(root, 'a', 'b', 'data');
    const seen = await tracedDaemon(root, dataDir, 'clicks');
    const firstRecord = seen.findIndex((call) => /^pwrite\w*\(\d+<[^>]*\.seg>/.test(call.name + '(' + call.args));
    expect(firstRecord).toBeGreaterThan(0);
    const made = seen.flatMap((call, at) => {
      if (!/^mkdir/.test(call.name) || call.result !== '0') return [];
      const path = /"([^"]+)"/.exec(call.args)?.[1];
      return path !== undefined && path.startsWith(root) ? [{ path, at }] : [];
    });
    // a, b, data, spool, spool/segments, spool/cursors (at least: the daemon may make more later).
    expect(made.map(({ path }) => path)).toEqual(expect.arrayContaining([join(root, 'a'), join(dataDir, 'spool', 'segments'), join(dataDir, 'spool', 'cursors')]));
    const unsynced = made
      .filter(({ at }) => at < firstRecord)
      .filter(({ path, at }) => !seen.slice(at + 1, firstRecord).some((call) => syncs(call, dirname(path))))
      .map(({ path }) => path);
    expect(unsynced).toEqual([]);

    // The file sink's new file (in a directory it made): both entries synced before the sink's
    // cursor is moved past the record written there (the cursor file renamed into place).
    const out = join(dataDir, 'out');
    const lineWritten = seen.findIndex((call) => call.name.startsWith('pwrite') && call.args.includes(`<${join(out, 'clicks.ndjson')}>`));
    expect(lineWritten).toBeGreaterThan(0);
    const cursorMoved = seen.findIndex((call, at) => at > lineWritten && call.name === 'rename' && call.args.includes(join('cursors', 'file.json"')));
    expect(cursorMoved).toBeGreaterThan(lineWritten);
    const outMade = made.find(({ path }) => path === out)!.at;
    const synced = (dir: string) => seen.slice(outMade + 1, cursorMoved).some((call) => syncs(call, dir));
    expect({ dataDir: synced(dataDir), out: synced(out) }).toEqual({ dataDir: true, out: true });
  });

  it('has a dead-letter file synced into its directory before the sink\'s cursor moves past the record parked there', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sparkngin-durable-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dataDir = join(root, 'data');
    // A directory where the topic's file goes: the file sink refuses the record for good (EISDIR).
    await mkdir(join(dataDir, 'out', 'poison.ndjson'), { recursive: true });
    const seen = await tracedDaemon(root, dataDir, 'poison');
    const letters = join(dataDir, 'dead-letter');
    const parked = seen.findIndex((call) => call.name === 'write' && call.args.includes(`<${join(letters, 'file.ndjson')}>`));
    expect(parked).toBeGreaterThan(0);
    const cursorMoved = seen.findIndex((call, at) => at > parked && call.name === 'rename' && call.args.includes(join('cursors', 'file.json"')));
    expect(cursorMoved).toBeGreaterThan(parked);
    const made = seen.findIndex((call) => call.name.startsWith('mkdir') && call.result === '0' && call.args.includes(`"${letters}"`));
    const synced = (dir: string) => seen.slice(made + 1, cursorMoved).some((call) => syncs(call, dir));
    expect({ made: made >= 0, dataDir: synced(dataDir), letters: synced(letters) }).toEqual({ made: true, dataDir: true, letters: true });
  });
});
