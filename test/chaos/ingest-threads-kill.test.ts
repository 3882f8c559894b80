// http.threads: 2 with a real Kafka (KRaft, 3 partitions) behind: ack=sink answers given by the
// ingest thread are the main thread's (Kafka's partition and offset per record, a dead letter in its
// record's slot), and the daemon SIGKILLed in a loop under load, restarted on the same data dir each
// time, loses no acknowledged event (every one in Kafka and in the file sink; copies allowed).
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { type DaemonProcess, startDaemon } from '../integration/daemon-process';
import { until } from '../wait';
import { daemonStats, eventNumber, fileSinkLines, LoadGenerator, waitForDrain } from './load';
import { tally } from './reliability';

const KILLS = 4;

let kafka: KafkaPeer;
let daemon: DaemonProcess;
beforeAll(async () => {
  kafka = await startKafka({ partitions: 3 });
  daemon = await startDaemon({ config: { http: { threads: 2 }, sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } }, file: { retry: { initialMs: 100, maxMs: 1000 } } } } });
});
afterAll(async () => {
  await daemon?.close();
  await kafka?.close();
});

const threadsUp = () => until(async () => ((await daemonStats(daemon.url)) as any).ingest.threads?.length === 2, 'both threads listening');

/** A REST Proxy v2 request on a connection of its own (the kernel picks the thread). */
function produceV2(body: string): Promise<{ status: number; answer: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.url}/topics/threads-v2?ack=sink`, { method: 'POST', agent: false, headers: { 'content-type': 'application/vnd.kafka.json.v2+json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, answer: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ingest on two threads with Kafka', () => {
  it("ack=sink: each record's partition and offset, a missing partition's 40402 in its slot, from both threads", async () => {
    await threadsUp();
    const rounds = 12;
    const before = ((await daemonStats(daemon.url)) as any).ingest.threads as Array<{ acceptedRequests: number }>;
    const answers = await Promise.all(
      Array.from({ length: rounds }, (_, i) => produceV2(JSON.stringify({ records: [{ value: `r${i}-a`, partition: 0 }, { value: `r${i}-missing`, partition: 7 }, { key: `k${i}`, value: `r${i}-b` }] }))),
    );
    const after = ((await daemonStats(daemon.url)) as any).ingest.threads as Array<{ acceptedRequests: number }>;
    expect(after.map((thread, i) => thread.acceptedRequests - before[i]!.acceptedRequests).every((grew) => grew > 0)).toBe(true);
    const good: Array<{ value: string; partition: number; offset: number }> = [];
    for (const [i, { status, answer }] of answers.entries()) {
      expect(status).toBe(200);
      expect(answer.offsets[1]).toEqual({ partition: null, offset: null, error_code: 40402, error: 'Partition not found.' });
      expect(answer.offsets[0].partition).toBe(0);
      for (const [slot, value] of [[0, `r${i}-a`], [2, `r${i}-b`]] as const) {
        expect(Number.isInteger(answer.offsets[slot].offset), JSON.stringify(answer.offsets[slot])).toBe(true);
        good.push({ value: JSON.stringify(value), partition: answer.offsets[slot].partition, offset: answer.offsets[slot].offset });
      }
    }
    // An independent consumer finds each good record once, at the answered place; no missing one anywhere.
    const messages = await consumeAll(kafka.brokers, 'threads-v2', { expected: good.length, timeoutMs: 60_000 });
    expect(messages.length).toBe(good.length);
    for (const record of good) {
      const found = messages.filter((message) => message.partition === record.partition && message.offset === record.offset);
      expect(found.map((message) => message.value.toString())).toEqual([record.value]);
    }
  }, 180_000);

  it(`loses no acknowledged event across ${KILLS} kill -9s under load, and stops cleanly on SIGTERM`, async () => {
    await threadsUp();
    const spoolLoad = new LoadGenerator(daemon.url, 'threads-kill', { clients: 4, batch: 50, query: '?ack=spool' });
    const sinkLoad = new LoadGenerator(daemon.url, 'threads-kill-sink', { clients: 1, batch: 20, query: '?ack=sink' });
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        await spoolLoad.waitForMore(1_000, 90_000);
        await new Promise((resolve) => setTimeout(resolve, Math.round(Math.random() * 1_000)));
        await daemon.kill();
        await daemon.restart();
        await threadsUp();
      }
      await spoolLoad.waitForMore(1_000, 90_000);
      await until(() => sinkLoad.acknowledged.size > 0, 'an ack=sink request acknowledged');
    } finally {
      await Promise.all([spoolLoad.stop(), sinkLoad.stop()]);
    }
    await waitForDrain(daemon.url, 120_000);
    for (const [topic, load] of [['threads-kill', spoolLoad], ['threads-kill-sink', sinkLoad]] as const) {
      const fromKafka = (await consumeAll(kafka.brokers, topic, { expected: load.acknowledged.size, distinctBy: eventNumber, timeoutMs: 120_000 })).map(eventNumber);
      const lines = await fileSinkLines(join(daemon.dataDir, 'out'), topic);
      expect(lines.filter((line) => line.unparsable !== undefined)).toEqual([]);
      const fromFile = lines.map((line) => line.data.n as number);
      for (const [where, seen] of [['kafka', fromKafka], ['file', fromFile]] as const) {
        const counts = tally(load.acknowledged, seen);
        console.log(`threads=2 kill loop, ${topic} → ${where}: ${load.acknowledged.size} acknowledged, ${counts.delivered} delivered, ${counts.duplicated} duplicated, ${counts.lost} lost`);
        expect(counts.missing.slice(0, 20), `${topic} in ${where}`).toEqual([]);
      }
    }
    expect(spoolLoad.acknowledged.size).toBeGreaterThanOrEqual((KILLS + 1) * 1_000);
    // SIGTERM: both threads drain and the daemon exits 0.
    expect(await daemon.stop()).toBe(0);
    expect(daemon.logs()).toContain('"event":"daemon.stopped"');
  }, 600_000);
});
