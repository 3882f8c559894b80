// What one spool `commit` message to a delivery thread costs (src/delivery/README.md, the
// SharedArrayBuffer alternative): 200 000 of them in bursts of 100, one burst per turn as group
// commits come; prints microseconds per message on the sending (ingest) thread, wall clock, and on
// the receiving thread, CPU. Run: node bench/micro/commit-message.cjs
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
if (isMainThread) {
  const w = new Worker(__filename);
  const N = 200000;
  w.once('message', () => {
    // sender cost: post N commit events in bursts of 100 with a turn between (like commits)
    let sent = 0; const t0 = process.cpuUsage(); const start = process.hrtime.bigint();
    let senderNs = 0n;
    const burst = () => {
      const a = process.hrtime.bigint();
      for (let i = 0; i < 100; i++) w.postMessage({ type: 'spool', event: { kind: 'commit', nextSeq: sent++, size: sent * 100 } });
      senderNs += process.hrtime.bigint() - a;
      if (sent < N) setImmediate(burst); else w.postMessage({ type: 'end' });
    };
    burst();
    w.on('message', (m) => { console.log(JSON.stringify({ senderUsPerMsg: Number(senderNs) / N / 1000, receiverUsPerMsg: m.cpuUs / N })); w.terminate(); });
  });
} else {
  let t0; let n = 0;
  parentPort.on('message', (m) => { if (n++ === 0) t0 = process.cpuUsage(); if (m.type === 'end') { const u = process.cpuUsage(t0); parentPort.postMessage({ cpuUs: u.user + u.system }); } });
  parentPort.postMessage('ready');
}
