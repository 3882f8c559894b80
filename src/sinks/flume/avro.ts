// Batches to a Flume Avro source: AvroSourceProtocol's `appendBatch(array<AvroFlumeEvent>) → Status`
// over Avro IPC on one TCP connection, in Avro's Netty framing (what Flume's own NettyAvroRpcClient,
// `flume-ng avro-client` and an upstream agent's Avro sink speak).
//
// avsc does the Avro: the protocol, the handshake (its first ping is answered NONE with the
// server's protocol, the second names ours), encoding the call and decoding the answer; the frames
// are netty-frames.ts (why there: its opening comment). One call in flight: the dispatcher sends one
// batch at a time, and the source handles a connection's calls one after another anyway.
//
// A batch is delivered when the source answers OK: AvroSource.appendBatch puts the whole batch into
// its channel in one transaction and answers OK only once it committed. FAILED (the channel refused:
// full, or a transaction larger than its transactionCapacity) and UNKNOWN are sent again later.
// Everything that leaves the connection in doubt (refused, reset, closed, garbage, no answer within
// requestTimeoutMs, a connection or handshake that takes longer) closes it; the next send opens a
// new one. A batch whose answer was lost may have been committed: delivery is at least once.
import { connect, type Socket } from 'node:net';
import { Service } from 'avsc';
import type { Envelope } from '../../envelope/envelope';
import { FlumeEventTooLargeError, FlumeRpcError, FlumeStatusError, FlumeUnreachableError } from './classify';
import { type FlumeSinkConfig, parseAvroEndpoint } from './config';
import { FlumeProtocolError, NettyDecoder, NettyEncoder } from './netty-frames';
import { flumeHeaders, type FlumeTransport } from './transport';

/** AvroSourceProtocol as flume-ng-sdk defines it (org.apache.flume.source.avro), without its doc. */
export const AVRO_SOURCE_PROTOCOL = {
  protocol: 'AvroSourceProtocol',
  namespace: 'org.apache.flume.source.avro',
  types: [
    { type: 'enum', name: 'Status', symbols: ['OK', 'FAILED', 'UNKNOWN'] },
    { type: 'record', name: 'AvroFlumeEvent', fields: [ { name: 'headers', type: { type: 'map', values: 'string' } }, { name: 'body', type: 'bytes' } ] },
  ],
  messages: {
    append: { request: [{ name: 'event', type: 'AvroFlumeEvent' }], response: 'Status' },
    appendBatch: { request: [{ name: 'events', type: { type: 'array', items: 'AvroFlumeEvent' } }], response: 'Status' },
  },
};

const SERVICE = Service.forProtocol(AVRO_SOURCE_PROTOCOL);

export interface AvroFlumeEvent {
  headers: Record<string, string>;
  body: Buffer;
}

/** An event as the Avro source takes it: the body's bytes as they are (Avro `bytes`, no base64). */
export function avroFlumeEvent(envelope: Envelope): AvroFlumeEvent {
  return { headers: flumeHeaders(envelope), body: envelope.data };
}

/** What `maxEventBytes` counts: the body and every header name and value, in bytes. */
export function eventBytes(event: AvroFlumeEvent): number {
  let bytes = event.body.length;
  for (const name in event.headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(event.headers[name]!);
  return bytes;
}

type Status = 'OK' | 'FAILED' | 'UNKNOWN';

/** One TCP connection with its avsc channel: ready once the handshake matched. */
class Connection {
  readonly ready: Promise<void>;
  closed = false;
  /** What ended the connection, given to every call it interrupted. */
  private failure: Error | undefined;
  private readonly socket: Socket;
  // timeout 0: this class bounds connection, handshake and call with one deadline of its own.
  private readonly client = SERVICE.createClient({ timeout: 0 });
  private readonly channel: Service.ClientChannel;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    const decoder = new NettyDecoder();
    const encoder = new NettyEncoder();
    this.socket.pipe(decoder);
    encoder.pipe(this.socket);
    this.socket.on('error', (error) => this.close(new FlumeUnreachableError(error)));
    const closedByPeer = () => new FlumeUnreachableError(Object.assign(new Error('the agent closed the connection'), { code: 'ECONNCLOSED' }));
    this.socket.on('close', () => this.close(closedByPeer()));
    decoder.on('error', (error) => this.close(error instanceof FlumeProtocolError ? error : new FlumeProtocolError(error.message)));
    // The client's own errors come only from calls without a callback; a listener keeps one from
    // ever reaching the process as an unhandled 'error'.
    this.client.on('error', (error: Error) => this.close(new FlumeRpcError(error.message)));
    // avsc takes `{readable, writable}` as a transport (its README); its typings know only a Duplex.
    const transport = { readable: decoder, writable: encoder } as unknown as Service.Transport;
    this.channel = this.client.createChannel(transport, { objectMode: true });
    this.ready = new Promise<void>((resolve, reject) => {
      this.channel.on('handshake', (_request: unknown, response: { match: unknown }) => {
        // NONE: avsc asks again with our protocol. Anything but BOTH or CLIENT after that is garbage.
        if (response.match === 'BOTH' || response.match === 'CLIENT') resolve();
        else if (response.match !== 'NONE') this.close(new FlumeProtocolError(`a handshake answered ${String(response.match)}`));
      });
      this.channel.once('eot', (_pending: number, error?: Error) => {
        // The channel ends with the connection (the peer closed it: avsc sees the stream end first),
        // or with an error of its own: a handshake answer it cannot read.
        this.close(error === undefined ? closedByPeer() : new FlumeProtocolError(error.message));
        reject(this.failure);
      });
    });
    this.ready.catch(() => {});
  }

  appendBatch(events: AvroFlumeEvent[]): Promise<Status> {
    return new Promise((resolve, reject) => {
      (this.client as unknown as { appendBatch(events: AvroFlumeEvent[], callback: (error: Error | null, status: Status) => void): void }).appendBatch(events, (error, status) => {
        // avsc reads an answer with the protocol's Status enum: a symbol outside it or a short answer
        // comes as an error, never as a status.
        if (!error) return resolve(status);
        // Interrupted by the connection's end; or an answer avsc could not read (garbage: its
        // message only, since a RangeError from decoding it is no bug of ours), or the agent's error.
        if (this.failure !== undefined) return reject(this.failure);
        const failure = new FlumeRpcError(error.message);
        this.close(failure);
        reject(failure);
      });
    });
  }

  close(failure: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = failure;
    this.channel.destroy(true);
    this.socket.destroy();
  }
}

export class FlumeAvroTransport implements FlumeTransport {
  private connection: Connection | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly config: FlumeSinkConfig) {
    ({ host: this.host, port: this.port } = parseAvroEndpoint(config.endpoint));
  }

  async send(batch: Envelope[]): Promise<void> {
    const events = batch.map(avroFlumeEvent);
    for (const [n, event] of events.entries()) {
      const bytes = eventBytes(event);
      if (bytes > this.config.maxEventBytes) throw new FlumeEventTooLargeError(batch[n]!.id, bytes, this.config.maxEventBytes);
    }
    const status = await this.withDeadline(async (connection) => {
      await connection.ready;
      return connection.appendBatch(events);
    });
    if (status !== 'OK') throw new FlumeStatusError(status);
  }

  /** A connection whose handshake matched. */
  async probe(): Promise<void> {
    await this.withDeadline((connection) => connection.ready);
  }

  async stop(): Promise<void> {
    this.connection?.close(new FlumeUnreachableError(new Error('the sink stopped')));
    this.connection = undefined;
  }

  /** `work` on the open connection (or a new one), which is closed when `requestTimeoutMs` passes first. */
  private async withDeadline<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    if (this.connection === undefined || this.connection.closed) this.connection = new Connection(this.host, this.port);
    const connection = this.connection;
    const timer = setTimeout(() => connection.close(new FlumeUnreachableError(Object.assign(new Error(`no answer within ${this.config.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' }))), this.config.requestTimeoutMs);
    try {
      return await work(connection);
    } finally {
      clearTimeout(timer);
    }
  }
}
