// Preloaded into a daemon (`NODE_OPTIONS=--require bench/micro/startup-probe.cjs`, the executable
// included): when its first server listens, writes to $PROBE_OUT the ms since the process started,
// the main thread's CPU and its wait on the run queue (/proc/self/task/<pid>/schedstat, Linux), and
// all threads' CPU. The run-queue wait is what a loaded machine adds; without it the start's own
// critical path shows (bench/RESULTS.md, "Start-up, fourth round"), roughly: the wait counts from
// the exec, the clock from Node's time origin a little later. Driven by startup-ab.mjs.
'use strict';
const net = require('node:net');
const { readFileSync, writeFileSync } = require('node:fs');

const listen = net.Server.prototype.listen;
let noted = false;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    if (noted) return;
    noted = true;
    const wall = performance.now();
    const [cpuNs, waitNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    const all = process.cpuUsage();
    writeFileSync(process.env.PROBE_OUT, JSON.stringify({ wall, mainCpu: cpuNs / 1e6, mainWait: waitNs / 1e6, allCpu: (all.user + all.system) / 1e3 }));
  });
  return listen.apply(this, args);
};
