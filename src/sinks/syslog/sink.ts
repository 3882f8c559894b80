// The syslog sink: RFC 5424 messages (message.ts) to one server over UDP, TCP or TLS.
//
// - UDP: one datagram per message on a connected socket; a server that is down shows as
//   ECONNREFUSED on a later send (from the ICMP answer) and the batch is sent again. UDP has no
//   acknowledgement at all: what a server that is down or overwhelmed does not take is lost. Use TCP
//   or TLS where that matters.
// - TCP and TLS: RFC 6587 octet counting, so a payload with newlines stays one record. A batch is
//   accepted once its bytes are written to the socket. Plain syslog has no acknowledgement, and
//   what the kernels held when a connection broke (our send buffer, the server's unread receive
//   buffer) would be lost: the sink keeps the latest `resendBytes` of messages and sends them again
//   first on the next connection (a server that restarted gets them twice: at least once). A
//   connection the server closed is noticed before the next batch, never written into.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Envelope } from '../../envelope/envelope';
import { SinkError } from '../../errors';
import type { Logger } from '../../ops/log';
import type { FailureClass, Sink, SinkHealth } from '../sink';
import { classifySyslogError, SyslogMessageTooLargeError } from './classify';
import { SYSLOG_ENDPOINT, type SyslogSinkConfig } from './config';
import { FACILITIES, type MessageSettings, message, octetCounted, SEVERITIES } from './message';
import { ResendWindow } from './resend-window';

const UDP_MAX = 65_507;

/** A stream connection and whether the server has closed it. */
interface Connection {
  socket: Socket;
  open: boolean;
  error: Error | undefined;
}

export class SyslogSink implements Sink {
  private readonly transport: 'udp' | 'tcp' | 'tls';
  private readonly host: string;
  private readonly port: number;
  private readonly settings: MessageSettings;
  private readonly tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private connection: Connection | undefined;
  private udp: UdpSocket | undefined;
  /** The latest messages sent on stream connections (framed), sent again first on a new connection. */
  private readonly window: ResendWindow;
  private healthState: SinkHealth = { state: 'starting' };
  private connections = 0;

  constructor(
    readonly name: string,
    private readonly config: SyslogSinkConfig,
    private readonly logger: Logger,
  ) {
    const [, transport, host, port] = SYSLOG_ENDPOINT.exec(config.endpoint)!;
    this.transport = transport as 'udp' | 'tcp' | 'tls';
    this.host = host!.replace(/^\[|\]$/g, '');
    this.port = Number(port);
    this.settings = { facility: FACILITIES[config.facility]!, severity: SEVERITIES[config.severity]!, appName: config.appName, hostname: config.hostname, sdId: config.sdId };
    // Read once, when the sink is made: a missing file stops the start with its name.
    const read = (file: string) => (file === '' ? undefined : readFileSync(file));
    this.tlsFiles = { ca: read(config.tls.ca), cert: read(config.tls.cert), key: read(config.tls.key) };
    this.window = new ResendWindow(config.resendBytes);
  }

  async start(): Promise<void> {
    // Connecting happens on the first send, so that a server that is down delays nothing but delivery.
  }

  async send(batch: Envelope[]): Promise<void> {
    try {
      if (this.transport === 'udp') await this.sendDatagrams(batch);
      else await this.sendStream(batch);
      this.healthState = { state: 'up' };
    } catch (error) {
      if (classifySyslogError(error) !== 'permanent') this.healthState = { state: 'down', detail: (error as Error).message };
      throw error instanceof SyslogMessageTooLargeError ? error : new SinkError(this.name, `${this.config.endpoint}: ${(error as Error).message}`, { cause: error });
    }
  }

  classify(error: unknown): FailureClass {
    return classifySyslogError(error);
  }

  /** A new connection answers (UDP: nothing to ask; a send finds out). */
  async probe(): Promise<void> {
    if (this.transport === 'udp') return;
    const connection = await this.connect();
    connection.socket.destroy();
  }

  counters(): Record<string, number> {
    return { connections: this.connections, resendWindowBytes: this.window.bytes };
  }

  private async sendDatagrams(batch: Envelope[]): Promise<void> {
    const messages = batch.map((envelope) => message(envelope, this.settings));
    const large = messages.find((bytes) => bytes.length > UDP_MAX);
    if (large !== undefined) throw new SyslogMessageTooLargeError(large.length);
    const socket = await this.udpSocket();
    for (const bytes of messages) {
      await new Promise<void>((resolve, reject) => socket.send(bytes, (error) => (error ? reject(error) : resolve())));
    }
  }

  private async udpSocket(): Promise<UdpSocket> {
    if (this.udp !== undefined) return this.udp;
    const socket = createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    // An ICMP "port unreachable" shows up as an error of the socket: the next send finds out.
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.port, this.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.udp = socket;
    return socket;
  }

  private async sendStream(batch: Envelope[]): Promise<void> {
    let connection = this.connection;
    if (connection === undefined || !connection.open) {
      connection?.socket.destroy();
      this.connection = undefined;
      connection = await this.connect();
      this.connection = connection;
      if (this.window.count > 0) {
        this.logger.info('syslog.resending', { sink: this.name, messages: this.window.count, bytes: this.window.bytes });
        await this.write(connection, this.window.concat());
      }
    }
    const framed = batch.map((envelope) => octetCounted(message(envelope, this.settings)));
    await this.write(connection, Buffer.concat(framed));
    for (const bytes of framed) this.window.add(bytes);
  }

  private write(connection: Connection, bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!connection.open) return reject(connection.error ?? new Error('the server closed the connection'));
      const onClose = () => reject(connection.error ?? new Error('the server closed the connection'));
      connection.socket.once('close', onClose);
      connection.socket.write(bytes, (error) => {
        connection.socket.off('close', onClose);
        if (error) reject(error);
        else if (!connection.open) reject(connection.error ?? new Error('the server closed the connection'));
        else resolve();
      });
    });
  }

  private connect(): Promise<Connection> {
    const { tls, connectionTimeoutMs } = this.config;
    return new Promise((resolve, reject) => {
      const options = { host: this.host, port: this.port, timeout: connectionTimeoutMs };
      const socket: Socket =
        this.transport === 'tls'
          ? tlsConnect({ ...options, ...this.tlsFiles, ...(tls.servername === '' ? {} : { servername: tls.servername }) }, () => ready())
          : tcpConnect(options, () => ready());
      const connection: Connection = { socket, open: false, error: undefined };
      const fail = (error: Error) => {
        connection.error = error;
        connection.open = false;
        socket.destroy();
        reject(error);
      };
      const ready = () => {
        socket.setTimeout(0);
        socket.setKeepAlive(true, 10_000);
        connection.open = true;
        this.connections++;
        resolve(connection);
      };
      socket.on('timeout', () => fail(new Error(`no connection within ${connectionTimeoutMs} ms`)));
      socket.on('error', fail);
      // The server closed its side (or went away): never write into it again.
      socket.on('end', () => {
        connection.open = false;
        socket.end();
      });
      socket.on('close', () => (connection.open = false));
      // A syslog server sends nothing; anything it does is read and dropped.
      socket.on('data', () => undefined);
    });
  }

  async stop(): Promise<void> {
    this.connection?.socket.end();
    this.connection = undefined;
    this.udp?.close();
    this.udp = undefined;
  }

  health(): SinkHealth {
    return this.healthState;
  }
}
