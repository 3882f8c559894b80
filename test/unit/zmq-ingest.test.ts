// ZeroMQ ingest's pure parts: the zmq.* settings refused at start with the key named, the discovery
// TXT keys of its ports, and message framing (what a message becomes, and every refusal's code).
// The sockets themselves are tested with real peers in test/integration/zmq-ingest.test.ts.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { zmqFacts } from '../../src/discovery/advertise';
import { buildTxt, readTxt, type TxtFacts } from '../../src/discovery/txt';
import { encodeEnvelope } from '../../src/envelope/codec-binary';
import { newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes } from '../../src/envelope/nw1';
import { RequestError } from '../../src/errors';
import { decodeMessage, type Framing } from '../../src/ingest/zmq/framing';
import { topicFilter } from '../../src/sinks/route';
import { curveKeyPair } from '../../src/cli/zmq-keys';

const problemsOf = (overrides: Record<string, string>): string[] => {
  try {
    loadConfig({ overrides });
    return [];
  } catch (error) {
    return (error as { problems: string[] }).problems;
  }
};

describe('zmq.* settings', () => {
  it('takes endpoints of every transport, and names the key of each bad one', () => {
    expect(problemsOf({ 'zmq.pull': 'tcp://*:7081', 'zmq.router': 'ipc:///run/sparkngin/router' })).toEqual([]);
    expect(problemsOf({ 'zmq.pull': 'tcp://[::1]:7081', 'zmq.router': 'tcp://127.0.0.1:*' })).toEqual([]);
    expect(problemsOf({ 'zmq.pull': '127.0.0.1:7081' })).toEqual([expect.stringMatching(/^zmq\.pull: expected tcp:\/\/HOST:PORT/)]);
    expect(problemsOf({ 'zmq.router': 'tcp://host:99999' })).toEqual([expect.stringMatching(/^zmq\.router: the port must be at most 65535/)]);
    expect(problemsOf({ 'zmq.pull': 'tcp://*:7081', 'zmq.router': 'tcp://*:7081' })).toEqual([expect.stringMatching(/^zmq\.router: the same endpoint/)]);
  });

  it('refuses settings that cannot work together, naming the key', () => {
    const key = curveKeyPair();
    expect(problemsOf({ 'zmq.topic': 'bad topic' })).toEqual([expect.stringMatching(/^zmq\.topic: invalid topic name/)]);
    expect(problemsOf({ 'zmq.topic': 't', 'zmq.framing': 'nw1' })).toEqual([expect.stringMatching(/^zmq\.topic: not used with zmq\.framing nw1/)]);
    expect(problemsOf({ 'zmq.framing': 'json' })).toEqual([expect.stringMatching(/^zmq\.framing: expected one of raw\|nw1/)]);
    expect(problemsOf({ 'zmq.maxBufferedBytes': '1KiB', 'zmq.maxMessageBytes': '2KiB' })).toEqual([expect.stringMatching(/^zmq\.maxBufferedBytes: expected at least zmq\.maxMessageBytes/)]);
    expect(problemsOf({ 'zmq.maxInFlight': '0' })).toEqual(['zmq.maxInFlight: expected at least 1']);
    expect(problemsOf({ 'zmq.curveSecretKey': 'short' })).toEqual([expect.stringMatching(/^zmq\.curveSecretKey: expected a CURVE key in Z85/)]);
    expect(problemsOf({ 'zmq.curveClients': key.publicKey })).toEqual([expect.stringMatching(/^zmq\.curveClients: needs zmq\.curveSecretKey/)]);
    expect(problemsOf({ 'zmq.curveSecretKey': key.secretKey, 'zmq.curveClients': `${key.publicKey},nope` })).toEqual([expect.stringMatching(/^zmq\.curveClients: expected CURVE public keys/)]);
    expect(problemsOf({ 'zmq.curveSecretKey': key.secretKey, 'zmq.curveClients': key.publicKey, 'restProxy.ack': 'sink' })).toEqual([]);
    expect(problemsOf({ 'restProxy.ack': 'kafka' })).toEqual([expect.stringMatching(/^restProxy\.ack: expected one of spool\|sink/)]);
  });
});

describe('discovery TXT of ZeroMQ ingest', () => {
  const config = loadConfig({ overrides: { 'zmq.framing': 'nw1' } });

  it('advertises the TCP ports other machines reach, never loopback or ipc endpoints, and reads them back', () => {
    expect(zmqFacts(config, { pull: 'tcp://127.0.0.1:7081', router: 'ipc:///tmp/r' })).toBeUndefined();
    const facts = zmqFacts(config, { pull: 'tcp://0.0.0.0:7081', router: 'tcp://[::1]:7082' })!;
    expect(facts).toEqual({ pull: 7081, framing: 'nw1', curve: false, maxMessageBytes: 16 * 1024 * 1024 });
    const txt = buildTxt({ instanceId: 'i', version: '1', proto: 'http', ingest: ['http', 'zmq'], authRequired: false, zmq: facts });
    expect(txt).toMatchObject({ ingest: 'http,zmq', 'zmq-pull': '7081', 'zmq-framing': 'nw1', 'zmq-auth': 'none', 'zmq-max': '16777216' });
    expect((readTxt(txt) as TxtFacts).zmq).toEqual(facts);
    expect((readTxt({ ingest: 'http,zmq', 'zmq-pull': '70000', 'zmq-router': 'x' }) as TxtFacts).zmq).toBeUndefined();
  });
});

describe('ZeroMQ message framing', () => {
  const raw: Framing = { framing: 'raw', topic: '', type: 'binary', maxEvents: 3, allowed: topicFilter(['*']), host: 'h', now: () => 42 };
  const frames = (...parts: Array<string | Buffer>) => parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part));
  const refusal = (run: () => unknown): [number, string] => {
    try {
      run();
    } catch (error) {
      return [(error as RequestError).status, (error as RequestError).code];
    }
    return [0, 'taken'];
  };

  it('raw: the head frame names the topic and parameters; each further frame is one event', () => {
    const { envelopes, ack } = decodeMessage(frames('orders?key=k&sts=1700000000000&ack=sink&type=text', 'one', 'two'), raw);
    expect(ack).toBe('sink');
    expect(envelopes.map((e) => [e.topic, e.key, e.sts, e.ts, e.type, e.data.toString(), e.host, e.ip])).toEqual([
      ['orders', 'k', 1_700_000_000_000, 42, 'text', 'one', 'h', ''],
      ['orders', 'k', 1_700_000_000_000, 42, 'text', 'two', 'h', ''],
    ]);
    const fixed = decodeMessage(frames('a', 'b'), { ...raw, topic: 'fixed' });
    expect(fixed.envelopes.map((e) => [e.topic, e.data.toString()])).toEqual([
      ['fixed', 'a'],
      ['fixed', 'b'],
    ]);
  });

  it('raw: refuses what an HTTP request would be refused for, with the same codes', () => {
    expect(refusal(() => decodeMessage([], raw))).toEqual([400, 'EMPTY_MESSAGE']);
    expect(refusal(() => decodeMessage(frames('t', 'a', 'b', 'c', 'd'), raw))).toEqual([413, 'TOO_MANY_EVENTS']);
    expect(refusal(() => decodeMessage(frames('t?key=', 'a'), raw))).toEqual([400, 'INVALID_KEY']);
    expect(refusal(() => decodeMessage(frames('t?type=xml', 'a'), raw))).toEqual([400, 'INVALID_TYPE']);
    expect(refusal(() => decodeMessage(frames('t?key=%ff', 'a'), raw))).toEqual([400, 'INVALID_QUERY']);
    expect(refusal(() => decodeMessage(frames('secret', 'a'), { ...raw, allowed: topicFilter(['public']) }))).toEqual([403, 'TOPIC_NOT_ALLOWED']);
    expect(refusal(() => decodeMessage(frames('t?type=json', '{"a":\n1}'), raw))).toEqual([400, 'INVALID_PAYLOAD']);
  });

  it('nw1: NW1 bodies, with an optional parameters frame; the envelopes keep their ids and get the server fields', () => {
    const nw1: Framing = { ...raw, framing: 'nw1' };
    const envelope = { id: newEventId(), topic: 'x', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json' as const, data: Buffer.from('1') };
    const body = frameEnvelopes([encodeEnvelope(envelope)]);
    const { envelopes, ack } = decodeMessage([Buffer.from('?ack=spool'), body, body], nw1);
    expect(ack).toBe('spool');
    expect(envelopes).toEqual([0, 1].map(() => ({ ...envelope, ts: 42, host: 'h' })));
    expect(refusal(() => decodeMessage([body, body, body, body], nw1))).toEqual([413, 'TOO_MANY_EVENTS']);
    expect(refusal(() => decodeMessage([Buffer.from('?ack=sink')], nw1))).toEqual([400, 'EMPTY_MESSAGE']);
    expect(refusal(() => decodeMessage([Buffer.from('?sts=1'), body], nw1))).toEqual([400, 'INVALID_QUERY']);
    expect(refusal(() => decodeMessage([frameEnvelopes([encodeEnvelope({ ...envelope, host: 'me' })])], nw1))).toEqual([400, 'INVALID_ENVELOPE']);
    expect(refusal(() => decodeMessage([body.subarray(0, body.length - 1)], nw1))).toEqual([400, 'INVALID_ENVELOPE']);
    // An envelope's partition is kept, as over HTTP (the Kafka sink writes the record there).
    const pinned = decodeMessage([frameEnvelopes([encodeEnvelope({ ...envelope, partition: 4 })])], nw1);
    expect(pinned.envelopes).toEqual([{ ...envelope, ts: 42, host: 'h', partition: 4 }]);
  });
});
