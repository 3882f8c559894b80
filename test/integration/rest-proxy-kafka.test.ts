// The REST Proxy compatible routes in front of a real Kafka (KRaft, 3 partitions): with ack=sink the
// offsets answered are where each record is in Kafka (read back by an independent consumer), and the
// record holds what the REST Proxy's serializers would have written (binary: the bytes; json: the
// JSON text; v3: key, value and headers). restProxy.ack: sink makes waiting the default for a client
// that cannot add a parameter; ack=spool answers null offsets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumedMessage, consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { type DaemonProcess, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
let daemon: DaemonProcess;
beforeAll(async () => {
  kafka = await startKafka({ partitions: 3 });
  daemon = await startDaemon({ config: { restProxy: { ack: 'sink' }, sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } } } });
});
afterAll(async () => {
  await daemon?.close();
  await kafka?.close();
});

interface V2Offset {
  partition: number | null;
  offset: number | null;
  error_code: null;
  error: null;
}

async function produceV2(topic: string, contentType: string, body: unknown, query = ''): Promise<{ status: number; offsets: V2Offset[] }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${daemon.url}/topics/${topic}${query}`, { method: 'POST', headers: { 'content-type': contentType }, body: text });
  expect(response.headers.get('content-type')).toBe('application/vnd.kafka.v2+json');
  const answer = (await response.json()) as { offsets: V2Offset[]; key_schema_id: null; value_schema_id: null };
  if (response.status === 200) expect([answer.key_schema_id, answer.value_schema_id]).toEqual([null, null]);
  return { status: response.status, offsets: answer.offsets };
}

/** The consumed record at each answered (partition, offset). */
function at(messages: ConsumedMessage[], offsets: Array<{ partition: number | null; offset: number | null }>): ConsumedMessage[] {
  return offsets.map(({ partition, offset }) => {
    const found = messages.find((message) => message.partition === partition && message.offset === offset);
    expect(found, `a record at partition ${partition}, offset ${offset}`).toBeDefined();
    return found!;
  });
}

describe('REST Proxy routes with Kafka behind', () => {
  it('v2 binary: each answered offset holds that record, its key and value bytes as sent', async () => {
    const records = [{ key: 'a2V5', value: 'Y29uZmx1ZW50' }, { value: 'a2Fma2E=' }, { value: 'bG9ncw==' }, { key: 'b3RoZXI=', value: 'AAEC/w==' }];
    const { status, offsets } = await produceV2('rp-binary', 'application/vnd.kafka.binary.v2+json', { records });
    expect(status).toBe(200);
    expect(offsets.every((o) => Number.isInteger(o.partition) && Number.isInteger(o.offset) && o.error_code === null && o.error === null)).toBe(true);
    const messages = await consumeAll(kafka.brokers, 'rp-binary', { expected: records.length, timeoutMs: 30_000 });
    expect(at(messages, offsets).map((m) => [m.key, m.value.toString('base64')])).toEqual([
      ['key', 'Y29uZmx1ZW50'],
      [null, 'a2Fma2E='],
      [null, 'bG9ncw=='],
      ['other', 'AAEC/w=='],
    ]);
  });

  it('v2 json and vnd.kafka.v2+json: the JSON text of values and keys, at the answered offsets; many requests at once each get their own', async () => {
    // Written as text: a number beyond a double's digits must reach Kafka as sent.
    const requests = Array.from({ length: 20 }, (_, r) => ({ records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 4}`, value: `{"r": ${r}, "i": ${i}, "big": 12345678901234567890}` })) }));
    const body = (request: (typeof requests)[number]) => `{"records":[${request.records.map(({ key, value }) => `{"key":"${key}","value":${value}}`).join(',')}]}`;
    const answers = await Promise.all(requests.map((request) => produceV2('rp-json', 'application/vnd.kafka.json.v2+json', body(request))));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const all = answers.flatMap((answer) => answer.offsets);
    expect(new Set(all.map((o) => `${o.partition}:${o.offset}`)).size).toBe(200);
    const messages = await consumeAll(kafka.brokers, 'rp-json', { expected: 200, timeoutMs: 30_000 });
    answers.forEach((answer, r) => {
      expect(at(messages, answer.offsets).map((m) => [m.key, m.value.toString()])).toEqual(requests[r]!.records.map(({ key }, i) => [`"${key}"`, `{"r":${r},"i":${i},"big":12345678901234567890}`]));
    });
    // A key lands where Kafka's own partitioner would put it: the same key, the same partition.
    const byKey = new Map<string, Set<number>>();
    for (const m of messages) byKey.set(m.key!, (byKey.get(m.key!) ?? new Set()).add(m.partition));
    expect([...byKey.values()].every((partitions) => partitions.size === 1)).toBe(true);

    const plain = await produceV2('rp-json', 'application/vnd.kafka.v2+json', { records: [{ value: 'cGxhaW4=' }] });
    const [record] = at(await consumeAll(kafka.brokers, 'rp-json', { expected: 201, timeoutMs: 30_000 }), plain.offsets);
    expect(record!.value.toString()).toBe('plain');
  });

  it('ack=spool answers before Kafka has the records: null offsets; the records arrive all the same', async () => {
    const { status, offsets } = await produceV2('rp-spool', 'application/vnd.kafka.json.v2+json', { records: [{ value: 1 }, { value: 2 }] }, '?ack=spool');
    expect(status).toBe(200);
    expect(offsets).toEqual([0, 1].map(() => ({ partition: null, offset: null, error_code: null, error: null })));
    const messages = await consumeAll(kafka.brokers, 'rp-spool', { expected: 2, timeoutMs: 30_000 });
    expect(messages.map((m) => m.value.toString()).sort()).toEqual(['1', '2']);
  });

  it('v3: the delivery report names the partition and offset where Kafka holds the record, with its key, value and headers', async () => {
    const response = await fetch(`${daemon.url}/v3/clusters/lkc-abc/topics/rp-v3/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ headers: [{ name: 'Trace', value: Buffer.from('t-1').toString('base64') }], key: { type: 'STRING', data: 'user-9' }, value: { type: 'JSON', data: { clicked: true } } }),
    });
    expect(response.status).toBe(200);
    const report = (await response.json()) as { error_code: number; cluster_id: string; topic_name: string; partition_id: number; offset: number; timestamp: string; key: unknown; value: unknown };
    expect(report).toMatchObject({ error_code: 200, cluster_id: 'lkc-abc', topic_name: 'rp-v3', key: { type: 'STRING', size: 6 }, value: { type: 'JSON', size: 16 } });
    const [record] = at(await consumeAll(kafka.brokers, 'rp-v3', { expected: 1, timeoutMs: 30_000 }), [{ partition: report.partition_id, offset: report.offset }]);
    expect([record!.key, record!.value.toString(), record!.headers.trace, String(Date.parse(report.timestamp))]).toEqual(['user-9', '{"clicked":true}', 't-1', record!.timestamp]);
  });
});
