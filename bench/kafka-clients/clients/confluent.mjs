// @confluentinc/kafka-javascript (librdkafka 2.15 through a native addon, built here from its
// bundled sources: build-confluent.sh), through its KafkaJS-compatible API. librdkafka batches on
// its own threads and keeps up to 5 produce requests in flight per broker with idempotence.
import { createRequire } from 'node:module';

const { KafkaJS } = createRequire(import.meta.url)('@confluentinc/kafka-javascript');

export async function connect(brokers, { compression = 'none' } = {}) {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { clientId: 'bakeoff-confluent', brokers: [brokers], logLevel: KafkaJS.logLevel.NOTHING } });
  const producer = kafka.producer({
    kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 5, compression: compression === 'none' ? KafkaJS.CompressionTypes.None : compression, allowAutoTopicCreation: false },
  });
  await producer.connect();
  return {
    send: (topic, records) => producer.send({ topic, messages: records }),
    close: () => producer.disconnect(),
  };
}
