// The daemon's CPU per event for the client scenario's two wrk bodies (bench/lib/wrk.ts): ndjson100
// (100 NDJSON lines) and nw1-100 (the client library's NW1 body for the same 100 events), against a
// daemon with the spool only (sinks off, as in `ingest`). CPU-seconds of the daemon process from
// /proc/PID/stat over each wrk run, divided by the events acknowledged: load-robust where events/s
// are not on a shared machine. A/B: BUNDLES=A,B (each a built sparkngin.cjs) alternate per round;
// a fresh daemon per run; medians. Run after `npm run build`:
//   npx esbuild bench/micro/nw1-daemon.ts --bundle --platform=node --format=esm --outfile=build/bench/nw1-daemon.mjs --log-level=warning
//   node_modules/.bin/node build/bench/nw1-daemon.mjs          (ROUNDS=5 SECONDS=5 BUNDLES=build/sparkngin.cjs)
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { cpuSecondsOf, sleep } from '../lib/run';
import { startSparkngin } from '../lib/servers';
import { EVENTS_PER_REQUEST, wrk, type WrkScenario } from '../lib/wrk';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 5);
const bundles = (process.env.BUNDLES ?? 'build/sparkngin.cjs').split(',').map((bundle) => resolve(bundle));
const bodies: WrkScenario[] = ['ndjson100', 'nw1-100'];

const runs: Record<string, number[]> = {};
const loadBefore = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) {
  for (const [b, bundle] of bundles.entries()) {
    for (const body of bodies) {
      const daemon = await startSparkngin({ bundle });
      try {
        await wrk(body, `${daemon.url}/v1/topics/bench`, 1); // warm-up
        await sleep(200);
        const before = cpuSecondsOf(daemon.mainPid);
        const result = await wrk(body, `${daemon.url}/v1/topics/bench`, SECONDS);
        const cpu = cpuSecondsOf(daemon.mainPid) - before;
        if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx`);
        const events = result.requests * EVENTS_PER_REQUEST[body];
        (runs[`${b}:${body}`] ??= []).push(Math.round(((cpu * 1e6) / events) * 1000) / 1000);
      } finally {
        await daemon.stop();
      }
    }
  }
}
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
console.log(
  JSON.stringify({
    what: 'daemon CPU microseconds per event (wrk -t2 -c64, 100 events per request)',
    bundles,
    medians: Object.fromEntries(Object.entries(runs).map(([name, values]) => [name, median(values)])),
    // Per round, NW1 against NDJSON on the same build: steadier than either alone when the load moves.
    nw1OverNdjson: bundles.map((_, b) => median(runs[`${b}:nw1-100`]!.map((nw1, round) => nw1 / runs[`${b}:ndjson100`]![round]!))),
    runs,
    loadavg: { before: loadBefore, after: loadavg()[0] },
  }),
);
