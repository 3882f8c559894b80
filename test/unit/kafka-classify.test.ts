// What the dispatcher is told a failed Kafka send means, for errors shaped as kafkajs really throws
// them (its retrier wraps what it will not retry in KafkaJSNonRetriableError, with the cause kept)
// and as the Kafka sink passes them on (in a SinkError).
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaPartitionNotFoundError, SinkError } from '../../src/errors';
import { classifyKafkaError } from '../../src/sinks/kafka/classify';

/** What kafkajs's retrier throws for an error it will not retry (src/retry/index.js); its types omit the options argument. */
const nonRetriable = (cause: Error) => new (KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error)(cause, { cause });
const fromSink = (cause: Error) => new SinkError('kafka', cause.message, { cause });
const protocolError = (type: string, retriable: boolean) => new KafkaJSProtocolError({ type, code: 0, retriable, message: `${type} from the broker` } as never);

describe('Kafka error classification', () => {
  it('calls a record the broker refuses for good permanent', () => {
    const refused = protocolError('MESSAGE_TOO_LARGE', false);
    expect(classifyKafkaError(fromSink(nonRetriable(refused)))).toBe('permanent');
    expect(classifyKafkaError(fromSink(protocolError('INVALID_TOPIC_EXCEPTION', false)))).toBe('permanent');
  });

  it('calls a partition the topic does not have permanent, as thrown by the sink and wrapped by kafkajs', () => {
    const missing = new KafkaPartitionNotFoundError('t', 5, 3);
    expect(classifyKafkaError(missing)).toBe('permanent');
    expect(classifyKafkaError(fromSink(nonRetriable(missing)))).toBe('permanent');
  });

  it('calls a programming error a bug, even wrapped by kafkajs', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'partition')");
    expect(classifyKafkaError(fromSink(nonRetriable(bug)))).toBe('bug');
    expect(classifyKafkaError(fromSink(bug))).toBe('bug');
  });

  it('calls an unreachable broker, authorization and unknown errors retriable', () => {
    const refusedConnection = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(classifyKafkaError(fromSink(new KafkaJSNumberOfRetriesExceeded(refusedConnection, { retryCount: 3, retryTime: 800 } as never)))).toBe('retriable');
    expect(classifyKafkaError(fromSink(protocolError('TOPIC_AUTHORIZATION_FAILED', false)))).toBe('retriable');
    expect(classifyKafkaError(fromSink(protocolError('NOT_LEADER_FOR_PARTITION', true)))).toBe('retriable');
    expect(classifyKafkaError(new Error('something else'))).toBe('retriable');
  });
});
