// Start-up of two builds side by side, measured inside each process (startup-probe.cjs), runs
// alternating: MODE=fresh (a new data dir per run) or MODE=existing (restarts on one dir each).
//   node bench/micro/startup-ab.mjs RUNS NAME=EXECUTABLE NAME=EXECUTABLE
// e.g. two copies of dist/bin/sparkngin-linux-x64, one per commit. Prints medians per build: ms
// since process start at listening, main thread CPU and run-queue wait, that difference, all threads' CPU.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE = new URL('./startup-probe.cjs', import.meta.url).pathname;
const runs = Number(process.argv[2]);
const builds = process.argv.slice(3).map((arg) => ({ name: arg.slice(0, arg.indexOf('=')), command: arg.slice(arg.indexOf('=') + 1) }));
if (!(runs > 0) || builds.length === 0) throw new Error('usage: startup-ab.mjs RUNS NAME=EXECUTABLE...');
const mode = process.env.MODE === 'existing' ? 'existing' : 'fresh';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () => new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

async function start(build, dir) {
  const out = join(dir, 'probe.json');
  rmSync(out, { force: true });
  const env = { ...process.env, NODE_OPTIONS: `--require ${PROBE}`, PROBE_OUT: out };
  const child = spawn(build.command, ['start', '--config', join(dir, 'sparkngin.yaml')], { stdio: 'ignore', env });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 6000 && !existsSync(out) && child.exitCode === null; i++) await sleep(5);
  await sleep(200);
  child.kill('SIGTERM');
  await exited;
  if (!existsSync(out)) throw new Error(`${build.name} did not listen`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

const dirs = new Map();
for (const build of builds) {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-startup-ab-'));
  writeFileSync(join(dir, 'sparkngin.yaml'), `listen: {host: 127.0.0.1, port: ${await freePort()}}\ndataDir: ${join(dir, 'data')}\n`);
  dirs.set(build.name, dir);
  if (mode === 'existing') await start(build, dir); // what the timed restarts start on
}
const results = new Map(builds.map((build) => [build.name, []]));
try {
  for (let i = 0; i < runs; i++) {
    for (const build of i % 2 === 0 ? builds : [...builds].reverse()) {
      if (mode === 'fresh') rmSync(join(dirs.get(build.name), 'data'), { recursive: true, force: true });
      results.get(build.name).push(await start(build, dirs.get(build.name)));
    }
  }
} finally {
  for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [name, runsOf] of results) {
  const of = (pick) => median(runsOf.map(pick)).toFixed(1);
  console.log(`${mode} ${name}: at listening ${of((r) => r.wall)} ms, main thread CPU ${of((r) => r.mainCpu)}, run-queue wait ${of((r) => r.mainWait)}, ` +
    `listening minus the wait ${of((r) => r.wall - r.mainWait)} (min ${Math.min(...runsOf.map((r) => r.wall - r.mainWait)).toFixed(1)}), all threads CPU ${of((r) => r.allCpu)}`);
}
