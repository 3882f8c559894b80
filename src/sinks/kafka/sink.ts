// The Kafka sink (kafkajs). What makes a batch delivered, in order (README.md beside this file
// says it at length):
// - acks=all with an idempotent producer: a record Kafka acknowledges is on every in-sync replica
//   (at least min.insync.replicas of them), and a retried batch is never written twice by the same
//   producer;
// - kafkajs patched (patches/kafkajs+2.2.4.patch) to retry per partition: upstream resolved
//   sendBatch without sending a partition whose leader had died (tulios/kafkajs#1303);
// - the delivery guard (partitions.ts): our code gives every record its partition, and a batch is
//   delivered only when the producer's answer acknowledges every (topic, partition) it went to;
//   otherwise the send fails retriably and the whole batch is sent again.
// - with `maxInFlight` above 1 (off by default), a batch goes out as that many produce requests at
//   once, in order; the patched kafkajs fences the producer after any failed request, and the whole
//   batch is sent again with a new one (README.md, "Several requests in flight").
// kafkajs retries a little on its own; beyond that the dispatcher retries for as long as Kafka is
// away, probing it meanwhile with a metadata request (probe) so that a broker back is used at once.
// After any failed send the producer is dropped and a fresh one connects on the next try: a new
// producer id sidesteps the sequence-number state a half-failed idempotent send can leave behind
// (duplicates are possible, loss is not: delivery is at least once). What a failure means is
// classify.ts's call.
// kafkajs-snappy's declaration is part of any program that reaches this file: the client's type
// bundle (npm run build:types) does, through the spool and the config, and failed without it.
/// <reference path="./kafkajs-snappy.d.ts" />
import { CompressionCodecs, CompressionTypes, Kafka, logLevel, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import type { KafkaSinkConfig } from '../../config/defaults';
import type { Envelope } from '../../envelope/envelope';
import { KafkaUnacknowledgedError, SinkError } from '../../errors';
import type { Logger } from '../../ops/log';
import type { FailureClass, SendOptions, SentPositions, Sink, SinkHealth } from '../sink';
import { classifyKafkaError, kafkaErrorType, partitionNotFound } from './classify';
import { PartitionAssignment, unacknowledgedPartitions } from './partitions';
import { notePositions, type PositionsById, positionsOf } from './positions';
import { chunkByRequestSize } from './record';
import { kafkaSecurity } from './security';

// kafkajs has gzip built in; snappy comes from kafkajs-snappy (kafkajs's author's codec, on the
// pure-JavaScript snappyjs, so the executable needs no native addon for it). lz4 and zstd codecs
// for kafkajs are native addons: left out until the addon directory beside the executable exists.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy } as const;

/**
 * Fewest records in one of a batch's pipelined requests: a small batch (the sink caught up) gains
 * nothing from being split, and a failure in a split batch sends its earlier requests' records twice.
 */
const MIN_PIPELINED_RECORDS = 100;

export class KafkaSink implements Sink {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private readonly partitions = new PartitionAssignment();
  private healthState: SinkHealth = { state: 'starting' };

  constructor(
    private readonly config: KafkaSinkConfig,
    private readonly logger: Logger,
    readonly name = 'kafka',
  ) {
    this.kafka = new Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 5_000 },
      ...kafkaSecurity(config),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        // kafkajs is chatty about every reconnect; its story is told by our sink.send_failed lines.
        const { message, ...fields } = entry.log;
        if (/Limiting retries for the idempotent producer/.test(message)) return;
        this.logger.debug('kafkajs', { namespace: entry.namespace, message, ...fields });
      },
    });
  }

  async start(): Promise<void> {
    // Connecting happens on the first send, so that a Kafka that is down delays nothing but delivery.
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      idempotent: true,
      // More than 1: kafkajs (patched) pipelines produce requests per broker and fences the
      // producer after any failure of one (patches/README.md); send() then drops it.
      maxInFlightRequests: this.config.maxInFlight,
      allowAutoTopicCreation: true,
      createPartitioner: this.partitions.createPartitioner,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  async send(batch: Envelope[], options?: SendOptions): Promise<SentPositions | undefined> {
    // Only when an ack=sink request asked where its records went (positions.ts).
    const positions: PositionsById | undefined = options?.positions ? new Map() : undefined;
    try {
      // One sendBatch per chunk that fits a produce request; a failure part-way makes the dispatcher
      // send the whole batch again, so chunks already sent may arrive twice (at least once).
      const { maxInFlight } = this.config;
      if (maxInFlight === 1) {
        // The producer asked for per chunk: a missing partition replaces it (sendChunk).
        for (const topicMessages of chunkByRequestSize(this.config, batch)) await this.sendChunk(await this.connectedProducer(), topicMessages, positions);
      } else {
        // The batch in `maxInFlight` requests, all sent at once and in order: each sendBatch call
        // takes its sequence numbers before the next (patched kafkajs), so a partition's records
        // are appended in the batch's order, or refused behind a failed request. Every chunk
        // settles before the batch's fate is decided, and the fenced producer is dropped below.
        const producer = await this.connectedProducer();
        const chunks = chunkByRequestSize(this.config, batch, Math.max(MIN_PIPELINED_RECORDS, Math.ceil(batch.length / maxInFlight)));
        const failed = (await Promise.allSettled(chunks.map((topicMessages) => this.sendChunk(producer, topicMessages, positions)))).find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
      }
      this.healthState = { state: 'up' };
      return positions && positionsOf(batch, positions);
    } catch (error) {
      const refused = classifyKafkaError(error) === 'permanent';
      const detail = kafkaErrorType(error) ?? (error as Error).message;
      this.healthState = refused ? { state: 'up' } : { state: 'down', detail };
      // A pipelining producer is fenced after any failed request, even a refused one.
      if (!refused || this.config.maxInFlight > 1) await this.dropProducer();
      // A missing partition is thrown as it is: its code goes with the dead letter, and an ack=sink
      // request learns it (the REST Proxy routes answer error_code 40402: v2 per record, v3 a 404).
      throw partitionNotFound(error) ?? new SinkError(this.name, detail, { cause: error });
    }
  }

  /**
   * One produce request, and the guard on its answer. `sendBatch` is called before the first await:
   * the order pipelined requests keep. A record naming a partition its topic does not have (per the
   * producer's metadata) is sent once more through a fresh producer, whose metadata is fetched anew:
   * partitions added to the topic since the old one looked are found, and only what fresh metadata
   * confirms is missing is refused for good (classify.ts), never re-partitioned. (Pipelined, the
   * requests after it were fenced unsent, and the batch fails and is sent again.)
   */
  private async sendChunk(producer: Producer, topicMessages: TopicMessages[], positions: PositionsById | undefined): Promise<void> {
    const sendBatch = (to: Producer) => to.sendBatch({ topicMessages, acks: -1, timeout: this.config.requestTimeoutMs, compression: COMPRESSION[this.config.compression] });
    let answer: RecordMetadata[];
    try {
      answer = await sendBatch(producer);
    } catch (error) {
      if (partitionNotFound(error) === undefined) throw error;
      await this.dropProducer();
      answer = await sendBatch(await this.connectedProducer());
    }
    const unacknowledged = unacknowledgedPartitions(topicMessages, (message) => this.partitions.partitionOf(message), answer);
    if (unacknowledged.length > 0) {
      // A client bug caught before it lost anything: worth an operator's (and an upstream report's) attention.
      this.logger.error('kafka.unacknowledged', { partitions: unacknowledged, answer });
      throw new KafkaUnacknowledgedError(unacknowledged);
    }
    if (positions) notePositions(positions, topicMessages, (message) => this.partitions.partitionOf(message), answer);
  }

  classify(error: unknown): FailureClass {
    return classifyKafkaError(error);
  }

  /** A fresh connection to one of the brokers and a metadata request for no topic: cheap, and answered only by a serving broker. */
  async probe(): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.dropProducer();
  }

  health(): SinkHealth {
    return this.healthState;
  }
}
