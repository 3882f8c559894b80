// One error tree for the whole daemon (after KafkaJS's errors.js): every error we raise on purpose
// carries a stable `code` that logs, JSON error bodies and tests can rely on, whether retrying could
// help (`retriable`), and the `cause` it wraps.

export interface SparknginErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class SparknginError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: SparknginErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration file, env variable or flag that cannot be used; names the key and the problem. */
export class ConfigError extends SparknginError {
  constructor(message: string, readonly problems: string[] = [message]) {
    super('CONFIG_INVALID', message);
  }
}

/** A request the client must change before sending again; `status` is the HTTP answer. */
export class RequestError extends SparknginError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    /** Answer headers; a list is sent as that many header lines (two WWW-Authenticate challenges). */
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(code, message);
  }
}

/** The spool refuses appends because it is at its size limit and the policy is `reject`. */
export class SpoolFullError extends SparknginError {
  constructor(readonly retryAfterSeconds: number) {
    super('SPOOL_FULL', 'the spool is full; retry later', { retriable: true });
  }
}

/** The spool found data it cannot trust (bad checksum, impossible length) where it must not guess. */
export class SpoolCorruptError extends SparknginError {
  constructor(message: string, readonly file: string, readonly offset: number) {
    super('SPOOL_CORRUPT', `${message} (${file} at byte ${offset})`);
  }
}

/** The spool has been closed (shutdown in progress); appends are refused. */
export class SpoolClosedError extends SparknginError {
  constructor() {
    super('SPOOL_CLOSED', 'the spool is closed', { retriable: true });
  }
}

/** A sink failed to deliver a batch; what that means (retry, dead-letter, bug) is the sink's `classify` call. */
export class SinkError extends SparknginError {
  constructor(readonly sink: string, message: string, options: SparknginErrorOptions = {}) {
    super('SINK_FAILED', `${sink}: ${message}`, options);
  }
}

/**
 * The Kafka client reported a batch delivered, but its answer does not acknowledge every partition the
 * batch's records were given: the batch is sent again (at least once), never counted as delivered.
 */
export class KafkaUnacknowledgedError extends SparknginError {
  constructor(readonly partitions: string[]) {
    super('KAFKA_UNACKNOWLEDGED', `the Kafka client reported success without an acknowledgement for ${partitions.join(', ')}`, { retriable: true });
  }
}

/**
 * A record asks for a partition its Kafka topic does not have (the REST Proxy's `partition`, an NW1
 * envelope's). Permanent for that record: it is dead-lettered, never retried forever and never sent
 * to another partition. Not retriable for kafkajs either (its retrier gives up on it at once).
 */
export class KafkaPartitionNotFoundError extends SparknginError {
  /** Its code, which also goes with the dead letter and the ack=sink wait it fails (src/sinks/waiters.ts). */
  static readonly CODE = 'KAFKA_PARTITION_NOT_FOUND';

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions: number,
  ) {
    super(KafkaPartitionNotFoundError.CODE, `partition ${partition} of topic '${topic}' does not exist (the topic has ${partitions} partition${partitions === 1 ? '' : 's'}: 0 to ${partitions - 1})`);
  }
}

/** Programming errors are never retried: retrying a TypeError only hides the bug. */
export function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError;
}

/** TLS files that cannot be used: unreadable, not PEM, a key that does not match its certificate. */
export class TlsFileError extends SparknginError {
  constructor(message: string, options: SparknginErrorOptions = {}) {
    super('TLS_FILES_INVALID', message, options);
  }
}
