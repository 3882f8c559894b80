// Chaos: a spool damaged while the daemon was stopped, then the daemon started on it. 400 events are
// spooled into small segments (4 KiB, about a dozen files) while the only sink is a Kafka that is
// not there, so nothing is delivered and every segment stays; then a copy of that data dir is
// damaged one way per case (and in random ways by the property at the end), and the daemon is
// started on it with the file sink on. Each case asserts: the daemon starts and keeps serving (no
// crash, no hang), a normal request is still accepted and delivered, everything outside the damage
// is delivered, and every acknowledged event that is not delivered is counted as lost and inside a
// range logged at error (the accounting contract is in ./spool-loss.ts).
import { chmod, chown, cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports';
import { type DaemonProcess, postEvents, startDaemon } from '../integration/daemon-process';
import { daemonStats, fileSinkLines, waitFor } from './load';
import { type ReliabilityRow, recordReliability, tally, withRow } from './reliability';
import { lossAccount, unlogged } from './spool-loss';

const SUITE = 'spool-damage';
const EVENTS = 400;
const SPOOL = { segmentBytes: 4096, maxBytes: 1024 * 1024 };
const NOBODY = { uid: 65534, gid: 65534 };
/** Runs the daemon as NOBODY: root reads a file whatever its mode, so only another user sees EACCES. */
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--'];

interface SegmentInfo {
  name: string;
  firstSeq: number;
  /** First sequence number of the next segment (exclusive end of this one's records). */
  endSeq: number;
}

let pristine: DaemonProcess;
let segments: SegmentInfo[];
const scratch: string[] = [];

beforeAll(async () => {
  // A Kafka sink pointed at a port nobody listens on keeps every record undelivered (and so kept).
  const nowhere = await freePort();
  pristine = await startDaemon({
    config: { shutdownTimeoutMs: 500, spool: SPOOL, sinks: { file: { enabled: false }, kafka: { brokers: [`127.0.0.1:${nowhere}`], connectionTimeoutMs: 200 } } },
  });
  // One client, one request at a time: event n gets sequence number n.
  for (let n = 0; n < EVENTS; n += 10) {
    const answer = await postEvents(pristine.url, 'damage', Array.from({ length: 10 }, (_, i) => ({ n: n + i, pad: 'p'.repeat(40) })));
    expect(answer.status).toBe(202);
  }
  await pristine.stop();
  const dir = join(pristine.dataDir, 'spool', 'segments');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size));
  const withData = names.filter((_, i) => sizes[i]! > 0);
  segments = withData.map((name, i) => ({ name, firstSeq: Number(name.slice(0, 20)), endSeq: i + 1 < withData.length ? Number(withData[i + 1]!.slice(0, 20)) : EVENTS }));
  expect(segments.length).toBeGreaterThanOrEqual(8);
  expect(segments[0]!.firstSeq).toBe(0);
}, 120_000);

afterAll(async () => {
  await pristine?.close();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** A fresh copy of the spool as the stopped daemon left it (segments, manifest, the Kafka sink's cursor); the file sink has no cursor yet, so it starts from the oldest record. */
async function copyOfSpool(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-chaos-spool-'));
  scratch.push(dir);
  await cp(join(pristine.dataDir, 'spool'), join(dir, 'spool'), { recursive: true });
  await mkdir(join(dir, 'spool', 'cursors'), { recursive: true });
  return dir;
}

const segmentPath = (dataDir: string, segment: SegmentInfo) => join(dataDir, 'spool', 'segments', segment.name);

async function flipBit(path: string, at: number, mask = 0x10): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ mask;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

interface Outcome {
  missing: number[];
  duplicated: number;
  delivered: number;
  account: Awaited<ReturnType<typeof lossAccount>>;
  /** Status of a normal ack=sink request sent after the damage (0: no answer). */
  normalStatus: number;
  logs: string;
}

/**
 * Starts the daemon on a damaged data dir (file sink on, no Kafka), waits for the file sink to
 * catch up (or to be stuck), sends a normal request, and tallies what arrived. Throws only when the
 * daemon stopped answering altogether.
 */
async function runOn(dataDir: string, user?: { uid: number; gid: number }): Promise<Outcome> {
  if (user) await chownTree(dataDir, user);
  const daemon = await startDaemon({ dataDir, ...(user ? { launcher: AS_NOBODY } : {}), config: { http: { sinkAckTimeoutMs: 5_000 }, spool: SPOOL, sinks: { file: { retry: { initialMs: 50, maxMs: 500 } } } } });
  try {
    // The file sink either catches up, or is reported down while the rest is served: either way no hang.
    await waitFor(async () => (await daemonStats(daemon.url)).sinks.every((sink) => sink.lagRecords === 0), 15_000, 'the file sink to deliver what the damaged spool still holds').catch(() => undefined);
    const normalStatus = await postEvents(daemon.url, 'after-damage', [{ normal: true }], '?ack=sink').then(
      (answer) => answer.status,
      () => 0,
    );
    const alive = await fetch(`${daemon.url}/health`).then((health) => health.status === 200, () => false);
    if (!alive) {
      const crash = daemon.logs().split('\n').find((line) => /^\w*Error\b|"level":"(error|fatal)"/.test(line)) ?? 'no error in its output';
      throw new Error(`the daemon stopped answering after the damage: ${crash.slice(0, 300)}`);
    }
    const lines = await fileSinkLines(join(dataDir, 'out'), 'damage');
    const counts = tally(Array.from({ length: EVENTS }, (_, n) => n), lines.map((line) => line.data?.n as number));
    return { missing: counts.missing as number[], duplicated: counts.duplicated, delivered: counts.delivered, account: await lossAccount(daemon.url, daemon.logs()), normalStatus, logs: daemon.logs() };
  } finally {
    await daemon.close();
  }
}

async function chownTree(path: string, user: { uid: number; gid: number }): Promise<void> {
  await chown(path, user.uid, user.gid);
  if ((await stat(path)).isDirectory()) for (const name of await readdir(path)) await chownTree(join(path, name), user);
}

/** Fills a row from an outcome and checks the accounting promise; `lossWithin` bounds where loss may be. */
function account(row: ReliabilityRow, outcome: Outcome, lossWithin: SegmentInfo[]): void {
  Object.assign(row, { unit: 'events', destination: 'file', sent: EVENTS, acknowledged: EVENTS, delivered: outcome.delivered, duplicated: outcome.duplicated, lost: outcome.missing.length, lostAccounted: outcome.account.counted });
  const outside = outcome.missing.filter((seq) => !lossWithin.some((segment) => seq >= segment.firstSeq && seq < segment.endSeq));
  row.notes = `errors logged: ${[...new Set(outcome.account.errorEvents)].join(', ') || 'none'}; moved aside: ${outcome.account.quarantined} quarantined, ${outcome.account.strays} strays`;
  expect(outcome.normalStatus, 'a normal ack=sink request after the damage').toBe(202);
  expect(outside, 'events lost outside the damaged segment(s)').toEqual([]);
  expect(outcome.account.counted, 'lost records counted in /stats').toBe(outcome.missing.length);
  if (outcome.missing.length > 0) expect(outcome.account.metric, 'lost records in /metrics').toBe(outcome.account.counted);
  expect(unlogged(outcome.missing, outcome.account.ranges), 'lost events in no range logged at error').toEqual([]);
}

/** The third segment: sealed, with intact segments on both sides. */
const middle = () => segments[2]!;

interface Case {
  fault: string;
  damage(dataDir: string): Promise<void>;
  /** Segments whose records may be lost (none: nothing may be lost). */
  lossWithin(): SegmentInfo[];
  user?: { uid: number; gid: number };
  /** The damaged segment must be moved aside to spool/quarantine and counted. */
  quarantine?: boolean;
}

const CASES: Case[] = [
  {
    fault: 'sealed segment truncated to half its size',
    damage: async (dir) => truncate(segmentPath(dir, middle()), Math.floor((await stat(segmentPath(dir, middle()))).size / 2)),
    lossWithin: () => [middle()],
  },
  {
    fault: 'one bit flipped in a record of a sealed segment',
    damage: async (dir) => flipBit(segmentPath(dir, middle()), Math.floor((await stat(segmentPath(dir, middle()))).size / 2)),
    lossWithin: () => [middle()],
  },
  {
    fault: 'sealed segment zeroed (same size, all bytes 0)',
    damage: async (dir) => writeFile(segmentPath(dir, middle()), Buffer.alloc((await stat(segmentPath(dir, middle()))).size)),
    lossWithin: () => [middle()],
  },
  {
    fault: 'sealed segment deleted',
    damage: async (dir) => rm(segmentPath(dir, middle())),
    lossWithin: () => [middle()],
  },
  {
    fault: 'sealed segment replaced by a directory',
    damage: async (dir) => {
      await rm(segmentPath(dir, middle()));
      await mkdir(segmentPath(dir, middle()));
    },
    lossWithin: () => [middle()],
    quarantine: true,
  },
  {
    fault: 'sealed segment unreadable (mode 000, daemon as an unprivileged user)',
    damage: async (dir) => chmod(segmentPath(dir, middle()), 0o000),
    lossWithin: () => [middle()],
    user: NOBODY,
    quarantine: true,
  },
  {
    fault: 'first segment deleted',
    damage: async (dir) => rm(segmentPath(dir, segments[0]!)),
    lossWithin: () => [segments[0]!],
  },
  {
    fault: 'garbage appended to the newest segment (a torn write)',
    damage: async (dir) => writeFile(segmentPath(dir, segments.at(-1)!), Buffer.from('SPK1\xff\xff\x00\x00garbage', 'latin1'), { flag: 'a' }),
    lossWithin: () => [],
  },
  {
    fault: 'sink cursor beyond the end of the spool',
    damage: async (dir) => writeFile(join(dir, 'spool', 'cursors', 'file.json'), JSON.stringify({ nextSeq: 1_000_000_000 })),
    lossWithin: () => [],
  },
  {
    fault: 'sink cursor file not JSON',
    damage: async (dir) => writeFile(join(dir, 'spool', 'cursors', 'file.json'), '{"nextSeq": 12'),
    lossWithin: () => [],
  },
  {
    fault: 'stray file with a segment name past 2^48',
    damage: async (dir) => writeFile(join(dir, 'spool', 'segments', '99999999999999999999.seg'), 'not a segment'),
    lossWithin: () => [],
  },
];

describe('a damaged spool, the daemon restarted on it', () => {
  it.each(CASES)('$fault: no crash, still serving, every acknowledged event delivered or counted and logged as lost', async (testCase) => {
    await withRow(SUITE, testCase.fault, async (row) => {
      const dataDir = await copyOfSpool();
      await testCase.damage(dataDir);
      const outcome = await runOn(dataDir, testCase.user);
      account(row, outcome, testCase.lossWithin());
      // Moved aside to spool/quarantine and counted: as an unreadable segment, or (a directory found at start) as a stray.
      if (testCase.quarantine) expect(outcome.account.quarantined + outcome.account.strays, 'segments moved aside').toBeGreaterThanOrEqual(1);
    });
  }, 120_000);
});

// ---- random damage (fast-check) ------------------------------------------------------------------

type Damage =
  | { kind: 'truncate'; segment: number; keep: number }
  | { kind: 'flip'; segment: number; at: number; mask: number }
  | { kind: 'zero'; segment: number; at: number; length: number }
  | { kind: 'delete'; segment: number }
  | { kind: 'directory'; segment: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'cursor'; nextSeq: number }
  | { kind: 'stray'; name: string };

/** Damage to sealed segments (every one but the newest) and to what sits beside them. */
function damageArbitrary(sealed: number): fc.Arbitrary<Damage> {
  const segment = fc.integer({ min: 0, max: sealed - 1 });
  const fraction = fc.double({ min: 0, max: 1, noNaN: true });
  return fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), segment, keep: fraction }),
    fc.record({ kind: fc.constant('flip' as const), segment, at: fraction, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('zero' as const), segment, at: fraction, length: fc.integer({ min: 1, max: 600 }) }),
    fc.record({ kind: fc.constant('delete' as const), segment }),
    fc.record({ kind: fc.constant('directory' as const), segment }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
    // A cursor inside the spool is state (the sink has those), not damage: only cursors beyond its end.
    fc.record({ kind: fc.constant('cursor' as const), nextSeq: fc.oneof(fc.integer({ min: EVENTS + 1, max: EVENTS * 3 }), fc.constant(2 ** 48), fc.constant(Number.MAX_SAFE_INTEGER)) }),
    fc.record({ kind: fc.constant('stray' as const), name: fc.oneof(fc.constant('99999999999999999999.seg'), fc.constant('00000000000000000001.seg'), fc.constant('00000000000000000050.seg.tmp'), fc.stringMatching(/^\d{20}\.seg$/)) }),
  );
}

async function applyDamage(dataDir: string, damage: Damage): Promise<SegmentInfo | undefined> {
  if (damage.kind === 'append') {
    await writeFile(segmentPath(dataDir, segments.at(-1)!), damage.bytes, { flag: 'a' });
    return undefined;
  }
  if (damage.kind === 'cursor') {
    await writeFile(join(dataDir, 'spool', 'cursors', 'file.json'), JSON.stringify({ nextSeq: damage.nextSeq }));
    return undefined;
  }
  if (damage.kind === 'stray') {
    const path = join(dataDir, 'spool', 'segments', damage.name);
    // A stray name may be a real segment's: then that segment is overwritten, i.e. damaged.
    const hit = segments.find((segment) => segment.name === damage.name);
    await rm(path, { recursive: true, force: true });
    await writeFile(path, 'stray bytes, not a segment');
    return hit;
  }
  const segment = segments[damage.segment]!;
  const path = segmentPath(dataDir, segment);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || info.isDirectory()) {
    // Already deleted or replaced by an earlier damage of this run.
    if (damage.kind === 'directory' && info === undefined) await mkdir(path);
    return segment;
  }
  if (damage.kind === 'truncate') await truncate(path, Math.floor(info.size * damage.keep));
  else if (damage.kind === 'flip') await flipBit(path, Math.min(info.size - 1, Math.floor(info.size * damage.at)), damage.mask);
  else if (damage.kind === 'zero') {
    const bytes = await readFile(path);
    const at = Math.floor(bytes.length * damage.at);
    bytes.fill(0, at, Math.min(bytes.length, at + damage.length));
    await writeFile(path, bytes);
  } else if (damage.kind === 'delete') await rm(path);
  else {
    await rm(path);
    await mkdir(path);
  }
  return segment;
}

describe('random spool damage (property-based)', () => {
  it('whatever the damage: starts, serves, delivers the rest, and accounts for every lost event', async () => {
    const seed = Number(process.env.SPARKNGIN_FUZZ_SEED ?? Date.now() % 2 ** 31);
    const runs = Number(process.env.SPARKNGIN_SPOOL_FUZZ_RUNS ?? 12);
    console.log(`spool damage fuzz: seed ${seed}, ${runs} runs (SPARKNGIN_FUZZ_SEED=${seed} to replay)`);
    const total: ReliabilityRow = { fault: `random damage, 1–3 faults per run (fast-check, ${runs} runs, seed ${seed})`, sent: 0, acknowledged: 0, delivered: 0, duplicated: 0, lost: 0, lostAccounted: 0, unit: 'events', destination: 'file', outcome: 'fail' };
    const kinds = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(damageArbitrary(segments.length - 1), { minLength: 1, maxLength: 3 }), async (damages) => {
          const dataDir = await copyOfSpool();
          const damaged: SegmentInfo[] = [];
          for (const damage of damages) {
            kinds.set(damage.kind, (kinds.get(damage.kind) ?? 0) + 1);
            const segment = await applyDamage(dataDir, damage);
            if (segment) damaged.push(segment);
          }
          const outcome = await runOn(dataDir);
          const row: ReliabilityRow = { fault: '', sent: 0, acknowledged: 0, delivered: 0, duplicated: 0, lost: 0, outcome: 'fail' };
          try {
            account(row, outcome, damaged);
          } finally {
            total.sent += row.sent;
            total.acknowledged += row.acknowledged;
            total.delivered += row.delivered;
            total.duplicated += row.duplicated;
            total.lost += row.lost;
            total.lostAccounted! += row.lostAccounted ?? 0;
            await rm(dataDir, { recursive: true, force: true });
          }
        }),
        { seed, numRuns: runs, endOnFailure: true },
      );
      total.outcome = 'pass';
    } catch (error) {
      total.notes = `FAILED: ${(error as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 300)}`;
      throw error;
    } finally {
      total.notes = `${[...kinds].map(([kind, n]) => `${kind}×${n}`).join(' ')}${total.notes ? `; ${total.notes}` : ''}`;
      recordReliability(SUITE, total);
    }
  }, 600_000);
});
