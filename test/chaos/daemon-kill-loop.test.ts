// Chaos: the daemon SIGKILLed eight times at random moments while clients post to it, restarted each
// time on the same data dir. Two loads run side by side: three clients with ack=spool and one with
// ack=sink, on their own topics. Afterwards every event the daemon acknowledged must be in Kafka
// (independent consumer) and in the file sink's output (every line a whole JSON envelope); copies
// are allowed (at least once) and counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { type DaemonProcess, startDaemon } from '../integration/daemon-process';
import { daemonStats, eventNumber, fileSinkLines, kafkaInFlight, LoadGenerator, outOfOrder, waitFor, waitForDrain } from './load';
import { tally, withRows } from './reliability';
import { join } from 'node:path';

const KILLS = 8;

let kafka: KafkaPeer;
let daemon: DaemonProcess;
beforeAll(async () => {
  kafka = await startKafka({ partitions: 3 });
  daemon = await startDaemon({ config: { sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 }, ...kafkaInFlight() }, file: { retry: { initialMs: 100, maxMs: 1000 } } } } });
});
afterAll(async () => {
  await daemon?.close();
  await kafka?.close();
});

describe('daemon SIGKILLed in a loop under load', () => {
  it(`delivers every acknowledged event to Kafka and the file sink after ${KILLS} kill -9s`, async () => {
    // One row per load and destination (the row's `destination` names it).
    const faults = ['ack=spool', 'ack=spool', 'ack=sink', 'ack=sink'].map((ack) => `daemon SIGKILLed ${KILLS}× at random moments under load, ${ack}`);
    await withRows('daemon-kill', faults, async (rows) => {
      const spoolLoad = new LoadGenerator(daemon.url, 'kill-spool', { clients: 3, batch: 50, query: '?ack=spool' });
      const sinkLoad = new LoadGenerator(daemon.url, 'kill-sink', { clients: 1, batch: 20, query: '?ack=sink' });
      const intervals: number[] = [];
      try {
        for (let kill = 0; kill < KILLS; kill++) {
          // Enough traffic between kills that each one lands mid-stream, then a random extra moment.
          await spoolLoad.waitForMore(1_000, 90_000);
          const wait = Math.round(Math.random() * 1_500);
          intervals.push(wait);
          await new Promise((resolve) => setTimeout(resolve, wait));
          await daemon.kill();
          await daemon.restart();
        }
        await spoolLoad.waitForMore(1_000, 90_000);
        await waitFor(() => sinkLoad.acknowledged.size > 0, 90_000, 'an ack=sink request acknowledged');
      } finally {
        await Promise.all([spoolLoad.stop(), sinkLoad.stop()]);
      }
      await waitForDrain(daemon.url, 120_000);
      const stats = await daemonStats(daemon.url);

      const results: Array<{ load: LoadGenerator; counts: ReturnType<typeof tally>; torn: number; total: number }> = [];
      const disordered: string[] = [];
      for (const [index, load] of [spoolLoad, sinkLoad].entries()) {
        const topic = index === 0 ? 'kill-spool' : 'kill-sink';
        const messages = await consumeAll(kafka.brokers, topic, { expected: load.acknowledged.size, distinctBy: eventNumber, timeoutMs: 120_000 });
        const fromKafka = messages.map((message) => JSON.parse(message.value.toString()).n as number);
        disordered.push(...outOfOrder(messages, index === 0 ? 50 : 20).map((where) => `${topic} ${where}`));
        const lines = await fileSinkLines(join(daemon.dataDir, 'out'), topic);
        const torn = lines.filter((line) => line.unparsable !== undefined).length;
        const fromFile = lines.filter((line) => line.unparsable === undefined).map((line) => line.data.n as number);
        for (const [offset, seen] of [fromKafka, fromFile].entries()) {
          const counts = tally(load.acknowledged, seen);
          const row = rows[index * 2 + offset]!;
          Object.assign(row, { unit: 'events', destination: offset === 0 ? 'kafka' : 'file', sent: load.sentEvents, acknowledged: load.acknowledged.size, delivered: counts.delivered, duplicated: counts.duplicated, lost: counts.lost });
          row.notes = `${load.failedRequests} requests failed (cut off or refused while the daemon was down)${offset === 1 && torn > 0 ? `; ${torn} torn lines in the output` : ''}`;
          results.push({ load, counts, torn: offset === 1 ? torn : 0, total: seen.length });
        }
      }
      console.log(`kill loop: waits ${intervals.join(',')} ms; ${rows.map((row) => `${row.fault}: ${row.acknowledged} acked, ${row.delivered} delivered, ${row.duplicated} dup, ${row.lost} lost`).join(' | ')}`);

      for (const { counts, torn } of results) {
        expect(counts.missing.slice(0, 20)).toEqual([]);
        expect(torn).toBe(0);
      }
      expect(disordered.slice(0, 20)).toEqual([]);
      expect(stats.sinks.every((sink) => (sink.deadLetteredRecords ?? 0) === 0)).toBe(true);
      expect(spoolLoad.acknowledged.size).toBeGreaterThanOrEqual((KILLS + 1) * 1_000);
      expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    });
  }, 900_000);
});
