// @confluentinc/kafka-javascript through its lower-level node-rdkafka API: produce() per record
// with a per-batch opaque, delivery reports (dr_cb) counted down per batch. Less JavaScript per
// record than the KafkaJS-compatible API (no Promise per record), and each record's own error is
// in its report (what the sink needs for records refused for good, e.g. MESSAGE_TOO_LARGE).
import { createRequire } from 'node:module';

const { Producer } = createRequire(import.meta.url)('@confluentinc/kafka-javascript');

export async function connect(brokers, { compression = 'none' } = {}) {
  const producer = new Producer({
    'client.id': 'bakeoff-confluent-native',
    'bootstrap.servers': brokers,
    'enable.idempotence': true,
    acks: 'all',
    'max.in.flight': 5,
    'compression.codec': compression,
    'allow.auto.create.topics': false,
    dr_cb: true,
    // librdkafka's own default (5 ms) unless an experiment sets BAKEOFF_LINGER_MS.
    ...(process.env.BAKEOFF_LINGER_MS ? { 'linger.ms': Number(process.env.BAKEOFF_LINGER_MS) } : {}),
  });
  producer.on('delivery-report', (err, report) => {
    const batch = report.opaque;
    if (err) batch.failed.push(err);
    if (--batch.remaining === 0) (batch.failed.length ? batch.reject(batch.failed[0]) : batch.resolve());
  });
  await new Promise((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(5);
  return {
    send: (topic, records) =>
      new Promise((resolve, reject) => {
        const batch = { remaining: records.length, failed: [], resolve, reject };
        for (const r of records) {
          const headers = [];
          for (const name in r.headers) headers.push({ [name]: r.headers[name] });
          producer.produce(topic, null, r.value, r.key, null, batch, headers);
        }
      }),
    close: () => new Promise((resolve) => producer.disconnect(() => resolve())),
  };
}
