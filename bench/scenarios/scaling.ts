// Ingest across cores (issue 8): the prototype of bench/micro/ingest-workers.ts (the real HTTP
// ingest on W worker threads sharing the port with SO_REUSEPORT, one spool writer fed by them) with
// W = 1 pinned to one core and W = 2 to two (taskset), NDJSON ×100 by wrk -t2 -c64, runs
// alternating. Per run: events/s, and CPU seconds per million events of the whole process and of
// the writer thread, the serial part that bounds how far more cores can take it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/peers/ports';
import { alternate, medians, repoRoot, runs, setting, watchLoad, writeResult } from '../lib/run';
import { EVENTS_PER_REQUEST, wrk } from '../lib/wrk';

const seconds = setting('BENCH_SECONDS', 5, 15);
const PROTOTYPE = join(repoRoot, 'build', 'bench', 'ingest-workers.cjs');
const CORES: Record<string, string> = { '1 worker, 1 core': '0', '2 workers, 2 cores': '0,1' };
type Variant = keyof typeof CORES;

interface Measured {
  workers: number;
  events: number;
  eventsPerSecond: number;
  cpuSecondsPerMillion: number;
  writerCpuSecondsPerMillion: number;
}

export async function scaling(): Promise<void> {
  execFileSync('npx', ['esbuild', 'bench/micro/ingest-workers.ts', '--bundle', '--platform=node', '--format=cjs', '--target=node22', `--outfile=${PROTOTYPE}`, '--log-level=warning', '--define:SPARKNGIN_VERSION="bench"', '--define:SPARKNGIN_COMMIT="bench"'], { cwd: repoRoot, stdio: 'inherit' });
  const all = await alternate(Object.keys(CORES) as Variant[], runs, async (variant) => {
    const workers = variant.startsWith('1') ? 1 : 2;
    const dir = mkdtempSync(join(tmpdir(), 'sparkngin-scaling-'));
    const port = await freePort();
    try {
      const child = spawn('taskset', ['-c', CORES[variant]!, process.execPath, PROTOTYPE, String(workers), String(port), join(dir, 'spool'), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      while (!out.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 50));
      let wrkPid: number | undefined;
      const load = watchLoad(() => [child.pid, wrkPid]);
      const done = new Promise((resolve) => child.on('close', resolve));
      const result = await wrk('ndjson100', `http://127.0.0.1:${port}/v1/topics/bench`, seconds + 1, (pid) => (wrkPid = pid)).catch(() => undefined);
      await done;
      const measured = JSON.parse(out.trim().split('\n').at(-1)!) as Measured;
      return { ...measured, wrkLatencyP99Ms: result ? result.latencyUs.p99 / 1000 : undefined, load: load.stop() };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  writeResult('scaling', {
    seconds,
    runsPerVariant: runs,
    eventsPerRequest: EVENTS_PER_REQUEST.ndjson100,
    command: `taskset -c <cores> node build/bench/ingest-workers.cjs <W> <port> <dir> ${seconds}; wrk -t2 -c64 -s bench/wrk/ndjson100.lua`,
    runs: all,
    medianEventsPerSecond: medians(all, (r) => r.eventsPerSecond),
    medianCpuSecondsPerMillion: medians(all, (r) => r.cpuSecondsPerMillion),
    medianWriterCpuSecondsPerMillion: medians(all, (r) => r.writerCpuSecondsPerMillion),
  });
}
