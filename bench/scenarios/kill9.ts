// kill -9 of the server under load: how many events it acknowledged never reach Kafka.
// A load generator in this process (64 keep-alive connections, single events, each carrying a
// unique sequence number) records every sequence number answered 2xx; after N seconds every
// process of the server gets SIGKILL at once. Sparkngin is then started again on the same data
// dir and left to drain (that is its promise); nginx + lua-resty-kafka has nothing to restart
// from (its buffer was in memory). Then the whole topic is read back (kcat -C) and the acknowledged
// sequence numbers missing from it are counted as lost.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { type Broker, traceDelivery } from '../lib/kafka';
import { alternate, medians, runs, setting, sleep, writeResult } from '../lib/run';
import { type Server, sparknginStats, startNginx, startSparkngin } from '../lib/servers';

const seconds = setting('BENCH_KILL_SECONDS', 4, 10);
const CONNECTIONS = 64;
type Variant = 'sparkngin' | 'nginx-lua-kafka';

/** Posts single events until `stop()`; gives the sequence numbers answered 2xx. */
function loadWithSequence(url: string): { stop(): Promise<{ acked: Set<number>; sent: number; failed: number }> } {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const acked = new Set<number>();
  let next = 0;
  let failed = 0;
  let running = true;
  const pad = 'x'.repeat(60);
  const post = (seq: number) =>
    new Promise<boolean>((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.end(`{"seq":${seq},"pad":"${pad}"}`);
    });
  const loops = Array.from({ length: CONNECTIONS }, async () => {
    while (running) {
      const seq = next++;
      if (await post(seq)) acked.add(seq);
      else {
        failed++;
        await sleep(20);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { acked, sent: next, failed };
    },
  };
}

/** Sequence numbers of every record in the topic (read with kcat, an independent client). */
function sequencesIn(broker: Broker, topic: string): number[] {
  const out = execFileSync('kcat', ['-C', '-b', broker.peer.brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const seqs: number[] = [];
  for (const line of out.split('\n')) {
    const m = /"seq":(\d+)/.exec(line);
    if (m) seqs.push(Number(m[1]));
  }
  return seqs;
}

export async function kill9(broker: Broker): Promise<void> {
  let serial = 0;
  const all = await alternate<Variant, Record<string, unknown> & { lost: number }>(['sparkngin', 'nginx-lua-kafka'], runs, async (variant) => {
    const topic = `kill9-${++serial}-${variant}`;
    await broker.createTopic(topic);
    let server: Server = variant === 'sparkngin' ? await startSparkngin({ kafka: broker.peer.brokers }) : await startNginx('lua-kafka', broker.peer.port);
    const firstDir = server.dir;
    const dataDir = `${firstDir}/data`;
    const load = loadWithSequence(`${server.url}/v1/topics/${topic}`);
    await sleep(seconds * 1000);
    await server.kill9();
    const { acked, sent, failed } = await load.stop();
    if (variant === 'sparkngin') {
      server = await startSparkngin({ kafka: broker.peer.brokers, dataDir });
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline && (await sparknginStats(server)).sinks[0]!.lagRecords > 0) await sleep(250);
    }
    await traceDelivery(broker, topic, { since: Date.now(), quietMs: 3_000 });
    await server.stop();
    rmSync(firstDir, { recursive: true, force: true });
    const seen = sequencesIn(broker, topic);
    const unique = new Set(seen);
    let lost = 0;
    for (const seq of acked) if (!unique.has(seq)) lost++;
    return { acknowledged: acked.size, sent, failedOrCut: failed, inKafka: seen.length, duplicates: seen.length - unique.size, lost };
  });
  writeResult('kill9', { loadSeconds: seconds, connections: CONNECTIONS, runsPerVariant: runs, kafka: broker.peer.version, runs: all, medianLost: medians(all, (r) => r.lost), maxLost: Object.fromEntries(['sparkngin', 'nginx-lua-kafka'].map((v) => [v, Math.max(...all.filter((r) => r.variant === v).map((r) => r.result.lost))])) });
}
