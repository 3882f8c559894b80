// Start-up of the single executable (issue 8: cold start to listening under 100 ms; idle RSS; size),
// beside the same bundle run by the pinned Node, so that what the executable's code cache buys shows.
// The executable is this checkout's, made first (`npm run dist -- --only binary --targets <host>`:
// the host's blob carries V8's code cache, packaging/steps/binary.ts), or BENCH_SEA if set.
// Two kinds of start, each timed spawn → the first TCP connection the daemon accepts (polled every
// 2 ms), file sink, Kafka off:
// - `executable`, `bundle`: a **first start**, on a fresh data dir (what issue 8's target is measured
//   on): the lock file, the instance id, the spool's manifest, first segment and the sink's cursor are
//   all created and synced. Then its RSS once it has been idle for 2 s (the sinks' threads up by then).
// - `executable restart`, `bundle restart`: a **restart** on the data dir a previous start of the
//   same variant left (stopped with SIGTERM), what users do far more often: everything is read, and
//   the spool makes its next segment.
// Runs alternate; medians, minima beside them (on a loaded machine the minimum is the better guide
// to what the code costs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostTarget } from '../../packaging/targets';
import { freePort } from '../../test/peers/ports';
import { alternate, exited, type Load, median, medians, repoRoot, rssMb, setting, sleep, spawnOwned, stopChild, watchLoad, writeResult } from '../lib/run';
import { SPARKNGIN_BUNDLE } from '../lib/servers';

const runs = setting('BENCH_STARTUP_RUNS', 7, 15);
const IDLE_MS = 2_000;
const DEADLINE_MS = 30_000;
type Variant = 'executable' | 'bundle' | 'executable restart' | 'bundle restart';
const VARIANTS: Variant[] = ['executable', 'bundle', 'executable restart', 'bundle restart'];

function executable(): string {
  if (process.env.BENCH_SEA) return process.env.BENCH_SEA;
  const host = hostTarget();
  if (!host) throw new Error(`startup: no executable is made on ${process.platform}-${process.arch}`);
  execFileSync('npm', ['run', '-s', 'dist', '--', '--only', 'binary', '--targets', host.name], { cwd: repoRoot, stdio: 'inherit' });
  return join(repoRoot, 'dist', 'bin', `sparkngin-${host.name}`);
}

/** Resolves once a TCP connection to the port is accepted; its time since `started` in ms. */
async function listeningAfter(port: number, started: bigint, gone: () => boolean): Promise<number> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline && !gone()) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return Number(process.hrtime.bigint() - started) / 1e6;
    await sleep(2);
  }
  throw new Error(`startup: nothing listened on ${port} within ${DEADLINE_MS} ms`);
}

/** A data dir and its config: fresh for each first start, kept across the runs of a restart variant. */
function dataDir(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-startup-'));
  writeFileSync(join(dir, 'sparkngin.yaml'), `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${join(dir, 'data')}\n`);
  return dir;
}

export async function startup(): Promise<void> {
  const exe = executable();
  const version = execFileSync(exe, ['version'], { encoding: 'utf8' }).trim();
  const commands: Record<'executable' | 'bundle', [string, string[]]> = { executable: [exe, []], bundle: [process.execPath, [SPARKNGIN_BUNDLE]] };
  const kept = new Map<Variant, { dir: string; port: number }>();
  /** One start: to listening; then, for a first start, its idle RSS; then SIGTERM and wait for the exit. */
  const start = async (variant: Variant, dir: string, port: number) => {
    const [command, prefix] = commands[variant.startsWith('executable') ? 'executable' : 'bundle'];
    const started = process.hrtime.bigint();
    const child = spawnOwned(command, [...prefix, 'start', '--config', join(dir, 'sparkngin.yaml')]);
    const load = watchLoad(() => [child.pid]);
    try {
      const msToListening = await listeningAfter(port, started, () => child.exitCode !== null || child.signalCode !== null);
      if (variant.endsWith('restart')) return { msToListening, load: load.stop() };
      await sleep(IDLE_MS);
      return { msToListening, idleRssMb: rssMb(child.pid), load: load.stop() };
    } finally {
      await stopChild(child);
      await exited(child);
    }
  };
  for (const variant of VARIANTS.filter((v) => v.endsWith('restart'))) {
    const port = await freePort();
    const dir = dataDir(port);
    kept.set(variant, { dir, port });
    await start(variant, dir, port); // the first start, untimed: what the timed ones restart on
  }
  try {
    const all = await alternate<Variant, { msToListening: number; idleRssMb?: number; load: Load }>(VARIANTS, runs, async (variant) => {
      const restart = kept.get(variant);
      if (restart) return start(variant, restart.dir, restart.port);
      const port = await freePort();
      const dir = dataDir(port);
      try {
        return await start(variant, dir, port);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    const min = (variant: Variant) => Math.min(...all.filter((r) => r.variant === variant).map((r) => r.result.msToListening));
    writeResult('startup', {
      runsPerVariant: runs,
      executable: { path: exe, version, bytes: statSync(exe).size },
      command: { executable: `${exe} start --config <dir>/sparkngin.yaml`, bundle: `node build/sparkngin.cjs start --config <dir>/sparkngin.yaml` },
      measures: { executable: 'first start, fresh data dir', bundle: 'first start, fresh data dir', 'executable restart': 'restart on its data dir', 'bundle restart': 'restart on its data dir' },
      // This machine's environment may name extra CA certificates, which every Node process then reads at start.
      nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null,
      runs: all,
      medianMsToListening: medians(all, (r) => r.msToListening),
      minMsToListening: Object.fromEntries(VARIANTS.map((variant) => [variant, min(variant)])),
      medianIdleRssMb: medians(all.filter((r) => r.result.idleRssMb !== undefined), (r) => r.idleRssMb!),
      medianForeignPct: median(all.map((r) => r.result.load.foreignPct)),
    });
  } finally {
    for (const { dir } of kept.values()) rmSync(dir, { recursive: true, force: true });
  }
}
