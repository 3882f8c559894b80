// End to end against Kafka 4.x (KRaft only; older protocol versions removed by KIP-896).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
let daemon: DaemonProcess;
beforeAll(async () => {
  kafka = await startKafka({ version: '4' });
  daemon = await startDaemon({ config: { sinks: { kafka: { brokers: [kafka.brokers], compression: 'gzip', topicMap: { web: 'web-events' } } } } });
});
afterAll(async () => {
  await daemon?.close();
  await kafka?.close();
});

describe('delivery to Kafka 4.x', () => {
  it('delivers 1 000 keyed events, mapped to another topic, compressed, with headers', async () => {
    const events = Array.from({ length: 1000 }, (_, n) => ({ n }));
    for (let i = 0; i < 10; i++) {
      const answer = await postEvents(daemon.url, 'web', events.slice(i * 100, (i + 1) * 100), `?key=k${i}`);
      expect(answer.status).toBe(202);
    }
    const messages = await consumeAll(kafka.brokers, 'web-events', { expected: 1000, timeoutMs: 60_000 });
    expect(messages.map((message) => JSON.parse(message.value.toString()).n).sort((a, b) => a - b)).toEqual(events.map((event) => event.n));
    expect(messages.every((message) => message.key === `k${Math.floor(JSON.parse(message.value.toString()).n / 100)}`)).toBe(true);
    expect(messages[0]!.headers['sparkngin-host']).toBeTruthy();
  });
});
