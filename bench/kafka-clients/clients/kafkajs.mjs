// kafkajs 2.2.4 with this project's patches (the daemon's own node_modules, patches/): the client
// the Kafka sink uses today, configured as the sink configures it (idempotent, acks=all). kafkajs
// holds a per-broker lock around each idempotent produce request, so concurrent sendBatch calls
// still go out one at a time.
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';

const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs;

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };

export async function connect(brokers, { compression = 'none' } = {}) {
  const kafka = new Kafka({ clientId: 'bakeoff-kafkajs', brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    /** records: Array<{ key: string, value: Buffer, headers: Record<string, string> }> */
    send: (topic, records) => producer.sendBatch({ topicMessages: [{ topic, messages: records }], acks: -1, compression: CODECS[compression] }),
    close: () => producer.disconnect(),
  };
}
