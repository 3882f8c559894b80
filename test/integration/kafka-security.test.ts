// The daemon's Kafka sink against real brokers (Kafka 3.9 and 4.x) that listen with SSL (client
// certificate required), SASL_SSL and SASL_PLAINTEXT, on a CA made at test time (test/peers/kafka.ts):
// events delivered with each of PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 and with a client
// certificate, read back by an independent consumer. A wrong password shows the sink down with the
// broker's reason, is retried with backoff (not in a hot loop), never reaches the log, and loses
// nothing: with the password fixed, the events spooled meanwhile are delivered.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll } from '../peers/consume';
import { type KafkaLine, type KafkaPeer, startKafka } from '../peers/kafka';
import { type DaemonProcess, postEvents, startDaemon } from './daemon-process';

interface SinkStats {
  sink: string;
  health: { state: string; detail?: string };
  failedSends: number;
  deliveredRecords: number;
}

async function kafkaStats(daemon: DaemonProcess): Promise<SinkStats> {
  const stats = (await (await fetch(`${daemon.url}/stats`)).json()) as { sinks: SinkStats[] };
  return stats.sinks.find((sink) => sink.sink === 'kafka')!;
}

describe.each(['3.9', '4'] as KafkaLine[])('Kafka %s with TLS and SASL', (line) => {
  let kafka: KafkaPeer;
  beforeAll(async () => {
    kafka = await startKafka({ version: line, security: true });
  });
  afterAll(async () => {
    await kafka?.close();
  });

  /** A daemon whose Kafka sink has `kafkaConfig` on top of the test broker's settings. */
  const secureDaemon = (kafkaConfig: Record<string, unknown>, dataDir?: string) =>
    startDaemon({ ...(dataDir ? { dataDir } : {}), config: { sinks: { file: { enabled: false }, kafka: { retry: { initialMs: 100, maxMs: 1000 }, ...kafkaConfig } } } });

  /** Posts `count` keyed events to `topic` and reads them back from the broker's plain listener. */
  async function roundTrip(daemon: DaemonProcess, topic: string, count = 20): Promise<void> {
    const events = Array.from({ length: count }, (_, n) => ({ n, topic }));
    expect((await postEvents(daemon.url, topic, events, '?key=k1')).status).toBe(202);
    const got = await consumeAll(kafka.brokers, topic, { expected: count, timeoutMs: 60_000 });
    expect(got.map((message) => JSON.parse(message.value.toString()).n).sort((a, b) => a - b)).toEqual(events.map((event) => event.n));
    expect(got.every((message) => message.key === 'k1')).toBe(true);
  }

  it('delivers over SSL with a client certificate the broker requires', async () => {
    const { ssl, caFile, client } = kafka.security!;
    const daemon = await secureDaemon({ brokers: [ssl], tls: { enabled: true, ca: caFile, cert: client.cert, key: client.key } });
    try {
      await roundTrip(daemon, 'over-ssl');
    } finally {
      await daemon.close();
    }
  });

  it('delivers over SASL_SSL with SCRAM-SHA-512', async () => {
    const { saslSsl, caFile, users } = kafka.security!;
    const daemon = await secureDaemon({ brokers: [saslSsl], tls: { enabled: true, ca: caFile }, sasl: { mechanism: 'scram-sha-512', ...users.scram512 } });
    try {
      await roundTrip(daemon, 'over-sasl-ssl');
    } finally {
      await daemon.close();
    }
  });

  it('delivers over SASL_PLAINTEXT with PLAIN and with SCRAM-SHA-256', async () => {
    const { saslPlaintext, users } = kafka.security!;
    for (const [mechanism, user] of [['plain', users.plain], ['scram-sha-256', users.scram256]] as const) {
      const daemon = await secureDaemon({ brokers: [saslPlaintext], sasl: { mechanism, ...user } });
      try {
        await roundTrip(daemon, `over-sasl-${mechanism}`);
      } finally {
        await daemon.close();
      }
    }
  });

  it('shows a wrong password as the sink down with the reason, backs off, logs no password, and delivers once it is fixed', async () => {
    const { saslPlaintext, users } = kafka.security!;
    const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-sasl-'));
    const wrong = 'not-the-password-7731';
    const daemon = await startDaemon({
      dataDir,
      config: { log: { level: 'debug' }, sinks: { file: { enabled: false }, kafka: { brokers: [saslPlaintext], sasl: { mechanism: 'scram-sha-256', username: users.scram256.username, password: wrong }, retry: { initialMs: 500, maxMs: 2000 } } } },
    });
    try {
      const events = Array.from({ length: 10 }, (_, n) => ({ n }));
      // Ingest goes on: the events are spooled.
      expect((await postEvents(daemon.url, 'after-fix', events)).status).toBe(202);
      let sink = await kafkaStats(daemon);
      for (const deadline = Date.now() + 30_000; sink.health.state !== 'down' && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sink = await kafkaStats(daemon);
      }
      expect(sink.health.state).toBe('down');
      expect(sink.health.detail).toMatch(/SASL SCRAM SHA256 authentication failed.*invalid credentials/);
      expect(sink.deliveredRecords).toBe(0);

      // Backoff, not a hot loop: over a few seconds, no more tries than the retry waits allow.
      const [firstCount, firstAt] = [sink.failedSends, Date.now()];
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const [lastCount, lastAt] = [(await kafkaStats(daemon)).failedSends, Date.now()];
      expect(lastCount - firstCount).toBeLessThanOrEqual(Math.ceil((lastAt - firstAt) / 500) + 1);
      expect(daemon.logs()).toContain('"event":"sink.send_failed"');
      expect(daemon.logs()).not.toContain(wrong);
      await daemon.close();

      // The right password, the same data dir: what was acknowledged is delivered.
      const fixed = await secureDaemon({ brokers: [saslPlaintext], sasl: { mechanism: 'scram-sha-256', ...users.scram256 } }, dataDir);
      try {
        const got = await consumeAll(kafka.brokers, 'after-fix', { expected: events.length, timeoutMs: 60_000 });
        expect(got.map((message) => JSON.parse(message.value.toString()).n).sort((a, b) => a - b)).toEqual(events.map((event) => event.n));
        expect(fixed.logs()).not.toContain(users.scram256.password);
      } finally {
        await fixed.close();
      }
    } finally {
      await daemon.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('shows a broker certificate it cannot verify as the sink down, naming why', async () => {
    const { ssl, client } = kafka.security!;
    // No tls.ca: the system's CAs, which never signed the test CA.
    const daemon = await secureDaemon({ brokers: [ssl], tls: { enabled: true, cert: client.cert, key: client.key } });
    try {
      expect((await postEvents(daemon.url, 'untrusted', [{ n: 1 }])).status).toBe(202);
      let sink = await kafkaStats(daemon);
      for (const deadline = Date.now() + 30_000; sink.health.state !== 'down' && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sink = await kafkaStats(daemon);
      }
      expect(sink.health.state).toBe('down');
      expect(sink.health.detail).toMatch(/certificate/i);
    } finally {
      await daemon.close();
    }
  });
});
