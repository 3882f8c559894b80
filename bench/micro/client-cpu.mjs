// The client's own CPU per event, load-robust: bench/client-load.mjs (the client-throughput
// scenario's load generator, the ESM bundle users get) sends EVENTS events through the client to a
// real daemon (spool only) ROUNDS times; each run prints the client process's CPU-seconds (user +
// system, process.cpuUsage) per million events, from the first send() until close() resolved. CPU
// time per event moves far less with the machine's load than events per second do; the median and
// every run are printed, with the load average.
//   npm run build && node bench/micro/client-cpu.mjs     (EVENTS=300000 BATCH=100 INFLIGHT=64 ROUNDS=5)
// PROF=1 writes a V8 CPU profile of each client run into the working directory (--cpu-prof).
// A/B: BUNDLES=DIR_A,DIR_B (each a copy of build/client) runs the two in alternation, a median each.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const EVENTS = Number(process.env.EVENTS ?? 300_000);
const BATCH = Number(process.env.BATCH ?? 100);
const INFLIGHT = Number(process.env.INFLIGHT ?? 64);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const port = () => new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
const http = await port();
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-client-cpu-bench-'));
const config = join(dir, 'config.yaml');
writeFileSync(config, `listen: {host: 127.0.0.1, port: ${http}}\ndataDir: ${dir}/data\ndiscovery: {enabled: false}\nlog: {level: warn}\n`);
const daemon = spawn(process.execPath, [new URL('../../build/sparkngin.cjs', import.meta.url).pathname, 'start', '--config', config], { stdio: 'inherit' });
const url = `http://127.0.0.1:${http}`;
try {
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    try { up = (await fetch(`${url}/health`)).ok; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  if (!up) throw new Error('the daemon did not start');
  const source = new URL('../client-load.mjs', import.meta.url);
  // Each bundle's own copy of the load generator, importing that bundle.
  const loads = (process.env.BUNDLES ?? new URL('../../build/client', import.meta.url).pathname).split(',').map((bundle, i) => {
    const file = join(dir, `client-load-${i}.mjs`);
    writeFileSync(file, readFileSync(source, 'utf8').replace("'../build/client/index.mjs'", JSON.stringify(join(bundle, 'index.mjs'))));
    return { bundle, file, cpu: [] };
  });
  const run = (load, events) => JSON.parse(execFileSync(process.execPath, [...(process.env.PROF ? ['--cpu-prof'] : []), load.file, JSON.stringify({ urls: [url], topic: 'bench', seconds: 600, events, batch: BATCH, maxInFlight: INFLIGHT })], { encoding: 'utf8' }).trim().split('\n').at(-1));
  run(loads[0], Math.min(EVENTS, 50_000)); // warm the daemon
  for (let r = 0; r < ROUNDS; r++) {
    for (const load of loads) {
      const result = run(load, EVENTS);
      if (result.acked !== EVENTS) throw new Error(`only ${result.acked} of ${EVENTS} acknowledged`);
      load.cpu.push(result.cpuSecondsPerMillion);
      console.log(`run ${r + 1} ${load.bundle}: ${result.cpuSecondsPerMillion} CPU-s per million events, ${result.eventsPerSecond} events/s, load ${loadavg()[0].toFixed(2)}`);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  for (const load of loads) console.log(JSON.stringify({ bundle: load.bundle, events: EVENTS, batch: BATCH, maxInFlight: INFLIGHT, medianCpuSecondsPerMillion: median(load.cpu), runs: load.cpu, load: loadavg() }));
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
