// Start-up of the single executable (issue 8: cold start to listening under 100 ms; idle RSS; size),
// beside the same bundle run by the pinned Node, so that what the executable's code cache buys shows.
// The executable is this checkout's, made first (`npm run dist -- --only binary --targets <host>`:
// the host's blob carries V8's code cache, packaging/steps/binary.ts), or BENCH_SEA if set.
// Per run: a fresh data dir, the default file sink, Kafka off; spawn → the first TCP connection the
// daemon accepts (polled every 2 ms), then its RSS once it has been idle for 2 s (the sinks' threads
// up by then). Runs alternate; medians, minima beside them (on a loaded machine the minimum is the
// better guide to what the code costs).
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
type Variant = 'executable' | 'bundle';

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

export async function startup(): Promise<void> {
  const exe = executable();
  const version = execFileSync(exe, ['version'], { encoding: 'utf8' }).trim();
  const commands: Record<Variant, [string, string[]]> = { executable: [exe, []], bundle: [process.execPath, [SPARKNGIN_BUNDLE]] };
  const all = await alternate<Variant, { msToListening: number; idleRssMb: number; load: Load }>(['executable', 'bundle'], runs, async (variant) => {
    const dir = mkdtempSync(join(tmpdir(), 'sparkngin-startup-'));
    const port = await freePort();
    writeFileSync(join(dir, 'sparkngin.yaml'), `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${join(dir, 'data')}\n`);
    const [command, prefix] = commands[variant];
    const started = process.hrtime.bigint();
    const child = spawnOwned(command, [...prefix, 'start', '--config', join(dir, 'sparkngin.yaml')]);
    const load = watchLoad(() => [child.pid]);
    try {
      const msToListening = await listeningAfter(port, started, () => child.exitCode !== null || child.signalCode !== null);
      await sleep(IDLE_MS);
      return { msToListening, idleRssMb: rssMb(child.pid), load: load.stop() };
    } finally {
      await stopChild(child);
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const min = (variant: Variant) => Math.min(...all.filter((r) => r.variant === variant).map((r) => r.result.msToListening));
  writeResult('startup', {
    runsPerVariant: runs,
    executable: { path: exe, version, bytes: statSync(exe).size },
    command: { executable: `${exe} start --config <fresh dir>/sparkngin.yaml`, bundle: `node build/sparkngin.cjs start --config <fresh dir>/sparkngin.yaml` },
    runs: all,
    medianMsToListening: medians(all, (r) => r.msToListening),
    minMsToListening: { executable: min('executable'), bundle: min('bundle') },
    medianIdleRssMb: medians(all, (r) => r.idleRssMb),
    medianForeignPct: median(all.map((r) => r.result.load.foreignPct)),
  });
}
