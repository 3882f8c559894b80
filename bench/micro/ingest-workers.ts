// The spool writer's serial cost, apart: the daemon's own ingest threads (src/ingest/threads/:
// createIngestServer on W threads sharing the port with SO_REUSEPORT, each handing its requests'
// encoded records over) feeding the daemon's own target (SpoolIngestTarget: one spool writer, group
// commit) on a main thread that, unlike the daemon's, serves no connection itself, so that its CPU
// is the writer's alone: the serial part that bounds how far more cores can take ingest. The
// `scaling` bench scenario measures the daemon as users run it (http.threads).
//   node build/bench/ingest-workers.cjs W PORT DIR SECONDS
// Prints, after SECONDS, the events stored and the CPU seconds of every thread of the process and
// of the writer (main) thread alone (/proc/self/task/*/stat), per million events.
// bench/micro/ingest-workers.sh runs it under taskset with wrk and alternates W = 1 and 2.
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { defaultConfig } from '../../src/config/defaults';
import { SpoolIngestTarget } from '../../src/daemon/ingest-target';
import { IngestThreads } from '../../src/ingest/threads/pool';
import { runIngestThread } from '../../src/ingest/threads/thread';
import { silentLogger } from '../../src/ops/log';
import { Spool } from '../../src/spool/spool';

const TICKS = 100; // USER_HZ

function cpuSeconds(task: string): number {
  const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function processCpu(): number {
  return readdirSync('/proc/self/task').reduce((sum, task) => sum + cpuSeconds(task), 0);
}

async function writer(): Promise<void> {
  const [workers, port, dir, seconds] = process.argv.slice(2).map((arg, i) => (i === 2 ? arg : Number(arg))) as [number, number, string, number];
  const config = defaultConfig();
  // W ingest threads: http.threads counts the main thread, which here only writes.
  config.http.threads = workers + 1;
  const spool = await Spool.open({ dir, ...config.spool, maxBytes: 64 * 1024 ** 3 });
  const target = new SpoolIngestTarget(spool, [], { timeoutMs: config.http.sinkAckTimeoutMs, maxWaiting: config.http.maxSinkAckRequests });
  const ops = { stats: () => ({}), metrics: () => '' };
  await IngestThreads.start({ config, listen: { host: '127.0.0.1', port }, eventsOnly: false, target, ops, logger: silentLogger, onDied: (error) => { console.error(error); process.exit(1); } }, config);
  const start = { all: processCpu(), writer: cpuSeconds(String(process.pid)), events: spool.stats().appendedRecords };
  console.log('ready');
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const events = spool.stats().appendedRecords - start.events;
  const all = processCpu() - start.all;
  const main = cpuSeconds(String(process.pid)) - start.writer;
  console.log(JSON.stringify({ workers, events, eventsPerSecond: Math.round(events / seconds), cpuSecondsPerMillion: (all / events) * 1e6, writerCpuSecondsPerMillion: (main / events) * 1e6 }));
  process.exit(0);
}

if (isMainThread) void writer();
else runIngestThread();
