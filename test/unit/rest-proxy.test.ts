// The Confluent REST Proxy compatible routes (src/ingest/rest-proxy/) through a real ingest server
// (ingest-harness.ts), with the requests of the REST Proxy's API reference (docs/api.rst of
// confluentinc/kafka-rest, API v2, and the v3 produce API) sent as documented: the answers have its
// shape and content type, what is stored is what its serializers would write to Kafka, and every
// error is its `{error_code, message}`. Kafka's real offsets with ack=sink: test/integration/rest-proxy-kafka.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope/envelope';
import { SinkError, SpoolFullError } from '../../src/errors';
import type { AcceptOptions, AckMode } from '../../src/ingest/target';
import type { RangePositions } from '../../src/sinks/waiters';
import { NOW, RecordingTarget, sendTo, serverPerFile } from './ingest-harness';

/** A target that answers ack=sink requests asking for positions with these (the documented example's). */
class PositionedTarget extends RecordingTarget {
  positions: RangePositions | undefined;
  override async accept(envelopes: Envelope[], ack: AckMode, options?: AcceptOptions): Promise<RangePositions | void> {
    await super.accept(envelopes, ack, options);
    return ack === 'sink' && options?.positions ? this.positions : undefined;
  }
}

const h = serverPerFile({ maxEventsPerRequest: 5 });
// The harness makes a RecordingTarget; this one is the same with positions to give.
beforeAll(() => void Object.setPrototypeOf(h.target, PositionedTarget.prototype));
const target = () => h.target as PositionedTarget;

async function post(path: string, contentType: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${h.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json', ...headers }, body });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text(), headers: response.headers };
}

// The API reference's examples, verbatim.
const BINARY_REQUEST = `{
  "records": [
    {
      "key": "a2V5",
      "value": "Y29uZmx1ZW50"
    },
    {
      "value": "a2Fma2E="
    },
    {
      "value": "bG9ncw=="
    }
  ]
}`;
const JSON_REQUEST = `{
  "records": [
    {
      "key": "somekey",
      "value": {"foo": "bar"}
    },
    {
      "value": [ "foo", "bar" ]
    },
    {
      "value": 53.5
    }
  ]
}`;
// The documented answer (partitions 2, 1, 2 at offsets 100, 101, 102), as the REST Proxy writes it:
// each offset with error_code and error null (its quick start shows them), the schema ids null.
const DOCUMENTED_OFFSETS = [
  { partition: 2, offset: 100 },
  { partition: 1, offset: 101 },
  { partition: 2, offset: 102 },
];
const documentedAnswer = (offsets: Array<{ partition: number | null; offset: number | null }>) =>
  JSON.stringify({ offsets: offsets.map((o) => ({ ...o, error_code: null, error: null })), key_schema_id: null, value_schema_id: null });

describe('POST /topics/{topic} (REST Proxy API v2)', () => {
  it('binary: stores the decoded bytes and the key as text; with ack=sink answers the offsets the sinks reported, byte for byte', async () => {
    target().positions = DOCUMENTED_OFFSETS;
    const answer = await post('/topics/test?ack=sink', 'application/vnd.kafka.binary.v2+json', BINARY_REQUEST);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/vnd.kafka.v2+json');
    expect(answer.text).toBe(documentedAnswer(DOCUMENTED_OFFSETS));
    expect(h.target.calls[0]!.ack).toBe('sink');
    expect(h.target.events.map((e) => [e.topic, e.key, e.type, e.data.toString()])).toEqual([
      ['test', 'key', 'binary', 'confluent'],
      ['test', undefined, 'binary', 'kafka'],
      ['test', undefined, 'binary', 'logs'],
    ]);
  });

  it('json: stores each value as compact JSON text (numbers as written) and a key as the JSON text of the key', async () => {
    target().positions = DOCUMENTED_OFFSETS;
    const answer = await post('/topics/test', 'application/vnd.kafka.json.v2+json', JSON_REQUEST, { 'x-sparkngin-ack': 'sink' });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(documentedAnswer(DOCUMENTED_OFFSETS));
    expect(h.target.events.map((e) => [e.key, e.type, e.data.toString()])).toEqual([
      ['"somekey"', 'json', '{"foo":"bar"}'],
      [undefined, 'json', '["foo","bar"]'],
      [undefined, 'json', '53.5'],
    ]);
    const exact = await post('/topics/test', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":{"big": 12345678901234567890, "f": 1.50}}]}');
    expect(exact.status).toBe(200);
    expect(h.target.events.at(-1)!.data.toString()).toBe('{"big":12345678901234567890,"f":1.50}');
  });

  it('with ack=spool (the default) answers once stored: partition and offset null, one per record', async () => {
    const answer = await post('/topics/test', 'application/vnd.kafka.binary.v2+json', BINARY_REQUEST);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(documentedAnswer([0, 1, 2].map(() => ({ partition: null, offset: null }))));
    expect(h.target.calls[0]!.ack).toBe('spool');
  });

  it('application/vnd.kafka.v2+json (no embedded format) is binary, as the REST Proxy assumes', async () => {
    const answer = await post('/topics/t2', 'application/vnd.kafka.v2+json', '{"records":[{"value":"AAEC/w=="}]}');
    expect(answer.status).toBe(200);
    expect(h.target.events[0]!.data).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('answers the documented error for an empty request: 422 {"error_code":422,"message":"records may not be empty"}', async () => {
    for (const body of ['{"records":[]}', '{}']) {
      const answer = await post('/topics/test', 'application/vnd.kafka.binary.v2+json', body);
      expect(answer.status).toBe(422);
      expect(answer.type).toBe('application/vnd.kafka.v2+json');
      expect(answer.text).toBe('{"error_code":422,"message":"records may not be empty"}');
    }
    expect(h.target.calls).toEqual([]);
  });

  it('bad JSON is 400 with error_code 400; bad base64 422; an unknown or schema embedded format 415; nothing stored', async () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['application/vnd.kafka.json.v2+json', '{"records": [ {"value": 1} ', 400, /not valid JSON/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"value":"Y29uZmx1ZW50"},{"value":"not base64!"}]}', 422, /records\[1\]\.value contains invalid base64 encoding/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"key":"a2V5=","value":"a2V5"}]}', 422, /records\[0\]\.key contains invalid base64 encoding/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"value":"Y29uZmx1ZW5"}]}', 422, /invalid base64/],
      ['application/vnd.kafka.avro.v2+json', '{"value_schema":"{\\"type\\":\\"int\\"}","records":[{"value":12}]}', 415, /needs a schema registry/],
      ['application/vnd.kafka.protobuf.v2+json', '{"records":[{"value":{}}]}', 415, /needs a schema registry/],
      ['application/vnd.kafka.foo.v2+json', '{"records":[{"value":"a2V5"}]}', 415, /not supported/],
      ['application/json', '{"records":[{"value":"a2V5"}]}', 415, /not supported/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"value":"a2V5","partition":1.5}]}', 422, /records\[0\]\.partition must be a whole number from 0 to 2147483647/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"value":"a2V5","partition":"1"}]}', 422, /records\[0\]\.partition must be a whole number/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"value":"a2V5","partition":2147483648}]}', 422, /records\[0\]\.partition must be a whole number/],
      ['application/vnd.kafka.json.v2+json', '{"records":[{"key":"k"}]}', 422, /value is missing/],
      ['application/vnd.kafka.json.v2+json', '{"records":{"value":1}}', 422, /records must be a list/],
      ['application/vnd.kafka.binary.v2+json', '{"records":[{"key":"/w==","value":"a2V5"}]}', 422, /not UTF-8 text/],
      ['application/vnd.kafka.json.v2+json', '{"records":[{"value":1},{"value":2},{"value":3},{"value":4},{"value":5},{"value":6}]}', 413, /more than 5 events/],
    ];
    for (const [type, body, status, message] of cases) {
      const answer = await post('/topics/test', type, body);
      expect({ type, body, status: answer.status }).toEqual({ type, body, status });
      const parsed = JSON.parse(answer.text) as { error_code: number; message: string };
      expect(Object.keys(parsed)).toEqual(['error_code', 'message']);
      expect(parsed.error_code).toBe(status);
      expect(parsed.message).toMatch(message);
    }
    expect(h.target.calls).toEqual([]);
  });

  it('maps the target failures to the REST Proxy codes: 50002 refused for good, 50003 retriable, 503 spool full with Retry-After', async () => {
    h.target.failure = new SinkError('kafka', 'MESSAGE_TOO_LARGE');
    const refused = await post('/topics/test?ack=sink', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
    expect([refused.status, JSON.parse(refused.text).error_code]).toEqual([502, 50002]);
    h.target.failure = new SinkError('kafka', 'stopped before delivery', { retriable: true });
    const retriable = await post('/topics/test?ack=sink', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
    expect([retriable.status, JSON.parse(retriable.text).error_code]).toEqual([502, 50003]);
    h.target.failure = new SpoolFullError(3);
    const full = await post('/topics/test', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
    expect([full.status, JSON.parse(full.text).error_code, full.headers.get('retry-after')]).toEqual([503, 503, '3']);
  });

  it("keeps each record's partition with its event (key or not); with ack=sink answers where Kafka put it", async () => {
    const positions = [
      { partition: 2, offset: 7 },
      { partition: 0, offset: 3 },
      { partition: 1, offset: 9 },
    ];
    target().positions = positions;
    const body = '{"records":[{"key":"a2V5","value":"YQ==","partition":2},{"value":"Yg==","partition":0},{"value":"Yw=="}]}';
    const answer = await post('/topics/test?ack=sink', 'application/vnd.kafka.binary.v2+json', body);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(documentedAnswer(positions));
    expect(h.target.events.map((e) => [e.key, e.partition, e.data.toString()])).toEqual([
      ['key', 2, 'a'],
      [undefined, 0, 'b'],
      [undefined, undefined, 'c'],
    ]);
  });

  it("POST /topics/{topic}/partitions/{partition}: the API reference's example (binary, partition 1), answered byte for byte", async () => {
    const positions = [100, 101, 102].map((offset) => ({ partition: 1, offset }));
    target().positions = positions;
    const answer = await post('/topics/test/partitions/1?ack=sink', 'application/vnd.kafka.binary.v2+json', BINARY_REQUEST);
    expect([answer.status, answer.type, answer.text]).toEqual([200, 'application/vnd.kafka.v2+json', documentedAnswer(positions)]);
    expect(h.target.events.map((e) => [e.key, e.partition, e.data.toString()])).toEqual([
      ['key', 1, 'confluent'],
      [undefined, 1, 'kafka'],
      [undefined, 1, 'logs'],
    ]);
  });

  it('POST /topics/{topic}/partitions/{partition} gives every record that partition; answers as the topic route does', async () => {
    const positions = [
      { partition: 1, offset: 100 },
      { partition: 1, offset: 101 },
    ];
    target().positions = positions;
    const answer = await post('/topics/test/partitions/1?ack=sink', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":{"a":1}},{"key":"k","value":2,"partition":1}]}');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(documentedAnswer(positions));
    expect(h.target.events.map((e) => [e.topic, e.partition, e.data.toString()])).toEqual([
      ['test', 1, '{"a":1}'],
      ['test', 1, '2'],
    ]);
    const spooled = await post('/topics/test/partitions/0', 'application/vnd.kafka.binary.v2+json', '{"records":[{"value":"YQ=="}]}');
    expect(spooled.text).toBe(documentedAnswer([{ partition: null, offset: null }]));
    const contradicting = await post('/topics/test/partitions/1', 'application/vnd.kafka.binary.v2+json', '{"records":[{"value":"YQ==","partition":2}]}');
    expect([contradicting.status, JSON.parse(contradicting.text).message]).toEqual([422, "records[0].partition is 2, the path's is 1"]);
  });

  it('a negative partition is its 404 {"error_code":40402,"message":"Partition not found."} at once; v3: one missing from the topic too, once the sink dead-lettered it (ack=sink)', async () => {
    const NOT_FOUND = '{"error_code":40402,"message":"Partition not found."}';
    for (const [path, body] of [
      ['/topics/test', '{"records":[{"value":"YQ=="},{"value":"Yg==","partition":-1}]}'],
      ['/topics/test/partitions/-1', '{"records":[{"value":"YQ=="}]}'],
      ['/topics/test/partitions/one', '{"records":[{"value":"YQ=="}]}'],
      ['/topics/test/partitions/2147483648', '{"records":[{"value":"YQ=="}]}'],
    ] as const) {
      const answer = await post(path, 'application/vnd.kafka.binary.v2+json', body);
      expect({ path, status: answer.status, type: answer.type, text: answer.text }).toEqual({ path, status: 404, type: 'application/vnd.kafka.v2+json', text: NOT_FOUND });
    }
    expect(h.target.calls).toEqual([]);
    // What the dispatcher's waiters put in a record's slot when the Kafka sink dead-lettered it (src/sinks/waiters.ts).
    target().positions = [missingFive()];
    const v3 = await post('/v3/clusters/c/topics/test/records?ack=sink', 'application/json', '{"partition_id":5,"value":{"type":"JSON","data":1}}');
    expect([v3.status, v3.type, v3.text]).toEqual([404, 'application/json', NOT_FOUND]);
    target().positions = [new SinkError('kafka', 'the destination refused an event for good: MESSAGE_TOO_LARGE', { cause: { code: 'KAFKA_REFUSED', message: 'MESSAGE_TOO_LARGE' } })];
    const refused = await post('/v3/clusters/c/topics/test/records?ack=sink', 'application/json', '{"value":{"type":"JSON","data":1}}');
    expect([refused.status, JSON.parse(refused.text).error_code]).toEqual([502, 50002]);
    const negativeV3 = await post('/v3/clusters/c/topics/test/records', 'application/json', '{"partition_id":-3,"value":{"type":"JSON","data":1}}');
    expect([negativeV3.status, negativeV3.text]).toEqual([404, NOT_FOUND]);
  });

  it("v2 with ack=sink: a dead-lettered record gets its own error_code and error in offsets[], the others their offsets, status 200 (the REST Proxy's per-record answer)", async () => {
    target().positions = [{ partition: 0, offset: 7 }, missingFive(), null, new SinkError('kafka', 'the destination refused an event for good: MESSAGE_TOO_LARGE', { cause: { code: 'KAFKA_REFUSED', message: 'MESSAGE_TOO_LARGE' } })];
    const answer = await post('/topics/test?ack=sink', 'application/vnd.kafka.binary.v2+json', '{"records":[{"value":"YQ==","partition":0},{"value":"Yg==","partition":5},{"value":"Yw=="},{"value":"ZA=="}]}');
    expect([answer.status, answer.type, answer.text]).toEqual([
      200,
      'application/vnd.kafka.v2+json',
      '{"offsets":[{"partition":0,"offset":7,"error_code":null,"error":null},' +
        '{"partition":null,"offset":null,"error_code":40402,"error":"Partition not found."},' +
        '{"partition":null,"offset":null,"error_code":null,"error":null},' +
        '{"partition":null,"offset":null,"error_code":50002,"error":"the sink \'kafka\' refused the record for good and parked it in its dead-letter file"}],' +
        '"key_schema_id":null,"value_schema_id":null}',
    ]);
    // The partition route answers the same way: every record to partition 5, each refused on its own.
    target().positions = [missingFive(), missingFive()];
    const all = await post('/topics/test/partitions/5?ack=sink', 'application/vnd.kafka.binary.v2+json', '{"records":[{"value":"YQ=="},{"value":"Yg=="}]}');
    expect([all.status, JSON.parse(all.text).offsets.map((o: { error_code: number }) => o.error_code)]).toEqual([200, [40402, 40402]]);
  });

  it('refuses a bad topic, a key parameter beside the records, and a GET, in its error shape', async () => {
    const badTopic = await post('/topics/bad%20topic', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
    expect([badTopic.status, JSON.parse(badTopic.text).error_code]).toEqual([400, 400]);
    const key = await post('/topics/test?key=k', 'application/vnd.kafka.json.v2+json', '{"records":[{"value":1}]}');
    expect([key.status, JSON.parse(key.text).message]).toEqual([400, expect.stringMatching(/each record carries its own key/)]);
    const get = await fetch(`${h.url}/topics/test`);
    expect([get.status, get.headers.get('content-type'), ((await get.json()) as { error_code: number }).error_code]).toEqual([405, 'application/vnd.kafka.v2+json', 405]);
  });
});

describe('POST /v3/clusters/{cluster_id}/topics/{topic}/records (REST Proxy API v3)', () => {
  const V3_REQUEST = JSON.stringify({
    partition_id: null,
    headers: [
      { name: 'Header-1', value: 'SGVhZGVyLTE=' },
      { name: 'Header-2', value: 'SGVhZGVyLTI=' },
    ],
    key: { type: 'BINARY', data: 'Zm9vYmFy' },
    value: { type: 'JSON', data: { foo: 'bar' } },
    timestamp: '2021-02-05T19:14:42Z',
  });

  it('stores one record and answers its delivery report: error_code 200, ids, sizes, the timestamp Kafka gets; offsets from the sinks with ack=sink', async () => {
    target().positions = [{ partition: 1, offset: 0 }];
    const answer = await post('/v3/clusters/cluster-1/topics/topic-1/records?ack=sink', 'application/json', V3_REQUEST);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/json');
    expect(answer.text).toBe(
      JSON.stringify({
        error_code: 200,
        cluster_id: 'cluster-1',
        topic_name: 'topic-1',
        partition_id: 1,
        offset: 0,
        timestamp: new Date(NOW).toISOString(),
        key: { type: 'BINARY', size: 6 },
        value: { type: 'JSON', size: 13 },
      }),
    );
    const [event] = h.target.events;
    expect([event!.topic, event!.key, event!.type, event!.data.toString(), event!.sts, { ...event!.headers }]).toEqual([
      'topic-1',
      'foobar',
      'json',
      '{"foo":"bar"}',
      Date.parse('2021-02-05T19:14:42Z'),
      { 'header-1': 'Header-1', 'header-2': 'Header-2' },
    ]);
  });

  it('keeps partition_id with the event; with ack=sink partition_id is the one Kafka used', async () => {
    target().positions = [{ partition: 3, offset: 12 }];
    const answer = await post('/v3/clusters/c/topics/t/records?ack=sink', 'application/json', '{"partition_id":3,"value":{"type":"JSON","data":1}}');
    expect(JSON.parse(answer.text)).toMatchObject({ error_code: 200, partition_id: 3, offset: 12 });
    expect(h.target.events[0]!.partition).toBe(3);
    const spooled = await post('/v3/clusters/c/topics/t/records', 'application/json', '{"partition_id":0,"value":{"type":"JSON","data":1}}');
    expect(JSON.parse(spooled.text)).toMatchObject({ error_code: 200, partition_id: null, offset: null });
    expect(h.target.events[1]!.partition).toBe(0);
  });

  it('STRING is stored as text; with ack=spool partition_id and offset are null', async () => {
    const answer = await post('/v3/clusters/c/topics/t/records', 'application/json', '{"value":{"type":"STRING","data":"héllo"}}');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ error_code: 200, partition_id: null, offset: null, value: { type: 'STRING', size: 6 } });
    expect([h.target.events[0]!.type, h.target.events[0]!.data.toString()]).toEqual(['text', 'héllo']);
  });

  it('errors in its shape: bad JSON 400, unknown type or bad base64 422, another content type 415', async () => {
    const cases: Array<[string, string, number]> = [
      ['application/json', '{"value":', 400],
      ['application/json', '{"value":{"type":"AVRO","data":1}}', 422],
      ['application/json', '{"value":{"type":"BINARY","data":"***"}}', 422],
      ['application/json', '{"value":{"type":"JSON","data":1},"partition_id":"3"}', 422],
      ['application/json', '{"value":{"type":"JSON","data":1},"partition_id":0.5}', 422],
      ['application/json', '{"value":{"type":"JSON","data":1},"timestamp":"yesterday"}', 422],
      ['application/json', '{"value":{"type":"JSON","data":1}}{"value":{"type":"JSON","data":2}}', 400],
      ['text/plain', '{"value":{"type":"JSON","data":1}}', 415],
    ];
    for (const [type, body, status] of cases) {
      const answer = await post('/v3/clusters/c/topics/t/records', type, body);
      expect({ body, status: answer.status, type: answer.type }).toEqual({ body, status, type: 'application/json' });
      expect(JSON.parse(answer.text).error_code).toBe(status);
    }
    expect(h.target.calls).toEqual([]);
  });
});

/** The refusal the waiters hold for a record sent to a partition the topic does not have. */
function missingFive(): SinkError {
  return new SinkError('kafka', "the destination refused an event for good: partition 5 of topic 'test' does not exist", {
    cause: { code: 'KAFKA_PARTITION_NOT_FOUND', message: "partition 5 of topic 'test' does not exist" },
  });
}
