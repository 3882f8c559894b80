// An application using the client library as users get it (the ESM bundle build/client/index.mjs),
// run as its own process so that a test can SIGKILL it. Arguments are one JSON object:
//   { urls, spillDir, topic, count, ack, discovery }     (urls null: the instances found on the LAN;
//   discovery: the client's discovery options, e.g. {transport: 'zmq'})
// It sends `count` events ({"n": i}) 500 at a time and prints one line per event as it settles:
// `acked <id> <n> <instance>`, `spilled <id> <n>` or `failed <n> <code>`. With count 0 it only delivers what
// its spill holds, then prints `drained` and exits.
import { createClient } from '../../build/client/index.mjs';

const { urls, spillDir, topic, count, ack, discovery } = JSON.parse(process.argv[2]);
const client = createClient({ ...(urls ? { urls } : {}), ...(discovery ? { discovery } : {}), ack, spill: { dir: spillDir }, healthIntervalMs: 200, batch: { maxEvents: 200, lingerMs: 2 } });
await client.ready();
const out = (line) => process.stdout.write(`${line}\n`);

for (let start = 0; start < count; start += 500) {
  const chunk = [];
  for (let n = start; n < Math.min(count, start + 500); n++) {
    chunk.push(
      client.send(topic, { n }).then(
        (delivery) => out(`${delivery.status} ${delivery.id} ${n}${delivery.instance ? ` ${delivery.instance}` : ''}`),
        (error) => out(`failed ${n} ${error.code}`),
      ),
    );
  }
  await Promise.all(chunk);
}
if (count === 0) {
  for (;;) {
    const backlog = await client.spillBacklog();
    if (backlog.spool + backlog.sink === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  out('drained');
}
await client.close();
