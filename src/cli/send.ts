// `sparkngin send TOPIC [FILE|-]`: the client library from the shell, like `kcat -P`. Reads events
// from FILE or standard input, sends them through the client (batches, retries, failover) and exits
// 0 only when every one was acknowledged; otherwise 1, naming how many were not and why.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { SparknginClient } from '../client/client';
import type { RawSendOptions } from '../client/event';
import { ClientOptionError } from '../client/errors';
import type { AckMode, ClientOptions } from '../client/options';
import { isJson, bodyParser, oneLine } from '../ingest/parse';
import { createLogger } from '../ops/log';
import { type Command, parseOptions, UsageError } from './command';
import { progressLine } from './progress';

const FORMATS = ['lines', 'ndjson', 'json', 'text', 'binary'] as const;
type Format = (typeof FORMATS)[number];

const USAGE = `Usage: sparkngin send TOPIC [FILE|-] [options]

Sends events to topic TOPIC from FILE, or from standard input when FILE is '-' or left out, through
the client library: batched, retried, failed over between instances. Exit 0 when every event was
acknowledged; 1 when any was not (their number is printed), 2 on a usage error.

Options:
  --format F         lines (default): one event per non-empty line, json if the line is JSON, else text
                     ndjson: one json event per non-empty line (a line that is not JSON is not sent)
                     text: one text event per non-empty line
                     json: the whole input is JSON: an array is one event per element, else one event
                     binary: the whole input is one binary event
  --key K            Kafka record key of every event
  --header NAME=V    event header (repeatable; names are lower-cased)
  --url URL          an instance (repeatable, or comma-separated); default $SPARKNGIN_URL, else discovery
                     http(s)://HOST:PORT, or tcp://HOST:PORT: its ZeroMQ ROUTER (zmq.framing nw1)
  --transport T      http (default) or zmq: how instances found by discovery are reached (zmq: their
                     ZeroMQ ROUTER, for those advertising one with nw1 framing); --url's scheme says it otherwise
  --token T          bearer token for ingest auth; default $SPARKNGIN_TOKEN
  --curve-server-key K       tcp:// instances: the public key of their CURVE server (zmq.curveSecretKey's pair)
  --curve-public-key K       this client's key pair (with --curve-secret-key[-file]; listed in the
  --curve-secret-key K       server's zmq.curveClients); made for the run when not given
  --curve-secret-key-file F  the secret key from a file (the key alone, or the line sparkngin zmq-keys prints)
  --zmq-max-message-bytes N  the instances' zmq.maxMessageBytes (default 16777216): an event larger is refused at once
  --ack spool|sink   acknowledged once on an instance's disk (spool, default) or in every sink (sink)
  --timeout S        give up on an event not acknowledged after S seconds (default 30)
  --batch N          events per request (default 1000)

On a terminal, a progress line shows on standard error.
`;

/** Lines in flight at most (sent, not yet settled): the input is read no faster than the instances take it. */
const WINDOW = 20_000;

interface Tally {
  read: number;
  acked: number;
  failed: number;
  /** Read after the command gave up (an event timed out: no instance takes them): counted, not sent. */
  unsent: number;
  /** The first failure of each code, to name why events were not acknowledged. */
  reasons: Map<string, string>;
}

export const sendCommand: Command = {
  name: 'send',
  summary: [['send TOPIC [FILE|-]', 'send events from a file or standard input (exit 1 if any is not acknowledged)']],
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseOptions(
      args,
      {
        format: { type: 'string' },
        key: { type: 'string' },
        header: { type: 'string', multiple: true },
        url: { type: 'string', multiple: true },
        token: { type: 'string' },
        transport: { type: 'string' },
        'curve-server-key': { type: 'string' },
        'curve-public-key': { type: 'string' },
        'curve-secret-key': { type: 'string' },
        'curve-secret-key-file': { type: 'string' },
        'zmq-max-message-bytes': { type: 'string' },
        ack: { type: 'string' },
        timeout: { type: 'string' },
        batch: { type: 'string' },
      },
      USAGE,
    );
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError('send takes TOPIC and at most one FILE', USAGE);
    const [topic, file = '-'] = positionals as [string, string?];
    const format = (values.format ?? 'lines') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`, USAGE);
    const ack = (values.ack ?? 'spool') as AckMode;
    if (ack !== 'spool' && ack !== 'sink') throw new UsageError(`--ack must be spool or sink, got '${ack}'`, USAGE);
    const headers: Record<string, string> = {};
    for (const header of values.header ?? []) {
      const equals = header.indexOf('=');
      if (equals <= 0) throw new UsageError(`--header takes NAME=VALUE, got '${header}'`, USAGE);
      headers[header.slice(0, equals)] = header.slice(equals + 1);
    }
    const timeout = positiveNumber(values.timeout, '--timeout', 30);
    const batch = positiveNumber(values.batch, '--batch', 1000);
    const urls = values.url?.flatMap((url) => url.split(','));
    const transport = values.transport ?? 'http';
    if (transport !== 'http' && transport !== 'zmq') throw new UsageError(`--transport must be http or zmq, got '${transport}'`, USAGE);

    let client: SparknginClient;
    try {
      client = new SparknginClient({
        ...(urls === undefined ? {} : { urls }),
        ...(values.token === undefined ? {} : { token: values.token }),
        zmq: await zmqOptions(values),
        discovery: { transport },
        ack,
        deliveryTimeoutMs: timeout * 1000,
        batch: { maxEvents: batch },
        logger: createLogger('warn'),
      });
    } catch (error) {
      // The client's words for its zmq options, in the flags' names.
      if (error instanceof ClientOptionError) throw new UsageError(error.problems.map((problem) => problem.replace(/\bzmq[.:] ?/g, '').replace(/\b(curveServerKey|curvePublicKey|curveSecretKey|maxMessageBytes)\b/g, (name) => ZMQ_FLAGS[name]!)).join('; '), USAGE);
      throw error;
    }
    await client.ready();
    const base: RawSendOptions = { ...(values.key === undefined ? {} : { key: values.key }), headers };
    const input = file === '-' ? process.stdin : createReadStream(file);
    const size = file === '-' ? undefined : (await stat(file)).size;
    const tally: Tally = { read: 0, acked: 0, failed: 0, unsent: 0, reasons: new Map() };
    // Once one event timed out, the instances are gone for longer than --timeout: the rest of the
    // input is only counted, so that the command ends in about --timeout and names every event it did not deliver.
    let givenUp = false;
    const progress = progressLine(`sending to ${topic}`);
    const show = (bytesRead: number) => progress?.update(size === undefined ? tally.read : bytesRead, size === undefined ? undefined : size, `${tally.read} read, ${tally.acked} acknowledged`);

    let inFlight = 0;
    let room: (() => void) | undefined;
    const send = async (data: Buffer, type: RawSendOptions['type']): Promise<void> => {
      tally.read++;
      if (givenUp) {
        tally.unsent++;
        return;
      }
      inFlight++;
      client.sendRaw(topic, data, { ...base, type }).then(
        () => tally.acked++,
        (error: Error & { code?: string }) => {
          tally.failed++;
          const code = error.code ?? 'ERROR';
          if (!tally.reasons.has(code)) tally.reasons.set(code, error.message);
          if (code === 'DELIVERY_TIMEOUT') givenUp = true;
        },
      ).finally(() => {
        inFlight--;
        if (inFlight < WINDOW / 2) room?.();
      });
      if (inFlight >= WINDOW) await new Promise<void>((resolve) => (room = resolve));
    };

    try {
      if (format === 'json' || format === 'binary') {
        const body = await readAll(input);
        show(body.length);
        if (format === 'binary') await send(body, 'binary');
        else for (const item of bodyParser('application/json')(body, Number.MAX_SAFE_INTEGER, topic).items) await send(item, 'json');
      } else {
        await eachLine(input, show, (line, number) => {
          if (format === 'text') return send(line, 'text');
          const text = line.toString('utf8');
          if (format === 'lines') return send(line, isJson(text) ? 'json' : 'text');
          if (isJson(text)) return send(Buffer.from(oneLine(text)), 'json');
          tally.read++;
          tally.failed++;
          if (!tally.reasons.has('MALFORMED_JSON')) tally.reasons.set('MALFORMED_JSON', `line ${number} is not JSON`);
          return undefined;
        });
      }
    } finally {
      await client.close();
      progress?.end();
    }
    return report(topic, tally);
  },
};

/** The client's zmq options from the --curve-* and --zmq-max-message-bytes flags (checked by the client, as its options). */
async function zmqOptions(values: Record<string, string | boolean | string[] | undefined>): Promise<ClientOptions['zmq']> {
  const flag = (name: string) => values[name] as string | undefined;
  const file = flag('curve-secret-key-file');
  if (file !== undefined && flag('curve-secret-key') !== undefined) throw new UsageError('give --curve-secret-key or --curve-secret-key-file, not both', USAGE);
  // The file may hold what `sparkngin zmq-keys` prints: the `curveSecretKey: "…"` line is the key.
  const fromFile = file === undefined ? undefined : secretKeyIn(await readFile(file, 'utf8').catch((error: Error) => { throw new UsageError(`--curve-secret-key-file: ${error.message}`, USAGE); }));
  const max = flag('zmq-max-message-bytes');
  return {
    ...(flag('curve-server-key') === undefined ? {} : { curveServerKey: flag('curve-server-key') }),
    ...(flag('curve-public-key') === undefined ? {} : { curvePublicKey: flag('curve-public-key') }),
    ...((fromFile ?? flag('curve-secret-key')) === undefined ? {} : { curveSecretKey: fromFile ?? flag('curve-secret-key') }),
    ...(max === undefined ? {} : { maxMessageBytes: positiveNumber(max, '--zmq-max-message-bytes', 0) }),
  };
}

function secretKeyIn(text: string): string {
  const line = /^\s*curveSecretKey:\s*"(.*)"\s*$/m.exec(text);
  return line !== null ? (JSON.parse(`"${line[1]!}"`) as string) : text.trim();
}

const ZMQ_FLAGS: Record<string, string> = { curveServerKey: '--curve-server-key', curvePublicKey: '--curve-public-key', curveSecretKey: '--curve-secret-key', maxMessageBytes: '--zmq-max-message-bytes' };

function positiveNumber(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${name} takes a positive number, got '${value}'`, USAGE);
  return number;
}

function report(topic: string, tally: Tally): number {
  if (tally.failed + tally.unsent === 0) {
    process.stderr.write(`sparkngin send: ${tally.acked} events sent to ${topic}, all acknowledged\n`);
    return 0;
  }
  const why = [...tally.reasons].map(([code, message]) => `${code}: ${message}`).join('; ');
  const unsent = tally.unsent > 0 ? `, ${tally.unsent} of them not sent at all: the command gave up after the first timeout` : '';
  process.stderr.write(`sparkngin send: ${tally.failed + tally.unsent} of ${tally.read} events were NOT acknowledged (${tally.acked} were${unsent}); ${why}\n`);
  return 1;
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Calls `line` for each non-empty line (LF or CRLF, a leading UTF-8 BOM dropped), awaiting it when it returns a promise. */
async function eachLine(input: Readable, show: (bytesRead: number) => void, line: (bytes: Buffer, number: number) => Promise<void> | undefined): Promise<void> {
  let rest: Buffer = Buffer.alloc(0);
  let number = 0;
  let bytesRead = 0;
  let first = true;
  const emit = async (bytes: Buffer) => {
    number++;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    if (bytes.length > 0) await line(bytes, number);
  };
  for await (const chunk of input) {
    let data = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    bytesRead += (chunk as Buffer).length;
    if (first) {
      first = false;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
    }
    let start = 0;
    for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
      await emit(data.subarray(start, end));
      start = end + 1;
    }
    rest = Buffer.from(data.subarray(start));
    show(bytesRead);
  }
  if (rest.length > 0) await emit(rest);
}
