// The REST Proxy compatible routes in front of a real Kafka (KRaft, 3 partitions): with ack=sink the
// offsets answered are where each record is in Kafka (read back by an independent consumer), and the
// record holds what the REST Proxy's serializers would have written (binary: the bytes; json: the
// JSON text; v3: key, value and headers). restProxy.ack: sink makes waiting the default for a client
// that cannot add a parameter; ack=spool answers null offsets. A record's partition (v2 `partition`,
// the partition route, v3 `partition_id`) is where Kafka holds it, whatever its key, also after a
// kill -9 between ack=spool and delivery; a partition the topic does not have is dead-lettered, never
// put in another partition, and answered per record in v2 (40402 in offsets[], the request's other
// records delivered once at their answered offsets), 404 40402 in v3.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumedMessage, consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { until } from '../wait';
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
  error_code: number | null;
  error: string | null;
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

  it('a record that names its partition is in exactly that partition, key or not (v2 records, the partition route, v3), at the answered offset', async () => {
    // One key for all: by key they would all share one partition.
    const records = Array.from({ length: 30 }, (_, i) => ({ key: 'c2FtZS1rZXk=', value: Buffer.from(`v2-${i}`).toString('base64'), partition: i % 3 }));
    const topicRoute = await produceV2('rp-partition', 'application/vnd.kafka.binary.v2+json', { records });
    expect(topicRoute.status).toBe(200);
    expect(topicRoute.offsets.map((o) => o.partition)).toEqual(records.map((r) => r.partition));
    const partitionRoute = await produceV2('rp-partition/partitions/2', 'application/vnd.kafka.json.v2+json', { records: [{ key: 'k', value: 'route-0' }, { value: 'route-1' }] });
    expect(partitionRoute.status).toBe(200);
    expect(partitionRoute.offsets.map((o) => o.partition)).toEqual([2, 2]);
    const v3 = await fetch(`${daemon.url}/v3/clusters/c/topics/rp-partition/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partition_id: 1, key: { type: 'STRING', data: 'same-key' }, value: { type: 'STRING', data: 'v3' } }),
    });
    const report = (await v3.json()) as { partition_id: number; offset: number };
    expect([v3.status, report.partition_id]).toEqual([200, 1]);

    // An independent consumer (kafkajs's, its own group) reads every partition from the beginning.
    const messages = await consumeAll(kafka.brokers, 'rp-partition', { expected: 33, timeoutMs: 30_000 });
    expect(messages).toHaveLength(33);
    const where = (value: string) => messages.filter((m) => m.value.toString() === value).map((m) => m.partition);
    records.forEach((record, i) => expect(where(`v2-${i}`), `v2-${i}`).toEqual([record.partition]));
    expect([where('"route-0"'), where('"route-1"'), where('v3')]).toEqual([[2], [2], [1]]);
    expect(at(messages, topicRoute.offsets).map((m) => m.value.toString())).toEqual(records.map((_, i) => `v2-${i}`));
    expect(at(messages, [{ partition: 1, offset: report.offset }])[0]!.value.toString()).toBe('v3');
  });

  it("a partition the topic does not have, ack=sink: v2 answers 200 with that record's 40402 in offsets[] and the others' offsets (each in Kafka once); v3 404 40402; ack=spool 200 nulls; dead-lettered (logged, counted), never in another partition", async () => {
    const before = await deadLettered(daemon);
    const NOT_FOUND = '{"error_code":40402,"message":"Partition not found."}';
    const MISSING = { partition: null, offset: null, error_code: 40402, error: 'Partition not found.' };
    const mixed = await produceV2('rp-missing', 'application/vnd.kafka.json.v2+json', {
      records: [{ value: 'kept-0', partition: 0 }, { value: 'missing-7', partition: 7 }, { value: 'kept-1', partition: 1 }, { key: 'k', value: 'kept-any' }],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.offsets[1]).toEqual(MISSING);
    const good = [mixed.offsets[0]!, mixed.offsets[2]!, mixed.offsets[3]!];
    expect(good.every((o) => Number.isInteger(o.partition) && Number.isInteger(o.offset) && o.error_code === null && o.error === null)).toBe(true);
    expect([good[0]!.partition, good[1]!.partition]).toEqual([0, 1]);
    // The partition route: every record to the missing partition, each refused on its own.
    const route = await produceV2('rp-missing', 'application/vnd.kafka.binary.v2+json', { records: [{ value: Buffer.from('missing-5').toString('base64') }] }, '/partitions/5');
    expect(route).toEqual({ status: 200, offsets: [MISSING] });
    const v3 = await fetch(`${daemon.url}/v3/clusters/c/topics/rp-missing/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partition_id: 3, value: { type: 'JSON', data: 'missing-3' } }) });
    expect([v3.status, await v3.text()]).toEqual([404, NOT_FOUND]);
    const spool = await produceV2('rp-missing', 'application/vnd.kafka.json.v2+json', { records: [{ value: 'missing-9', partition: 9 }] }, '?ack=spool');
    expect(spool).toEqual({ status: 200, offsets: [{ partition: null, offset: null, error_code: null, error: null }] });
    // A record after them, to know the sink is past them.
    const after = await produceV2('rp-missing', 'application/vnd.kafka.json.v2+json', { records: [{ value: 'after', partition: 2 }] });
    expect(after.offsets[0]!.partition).toBe(2);

    await until(async () => (await deadLettered(daemon)) === before + 4, 'four records are dead-lettered', 30_000);
    const parked = (await readFile(join(daemon.dataDir, 'dead-letter', 'kafka.ndjson'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { code: string; reason: string; event: { topic: string; partition: number; data: string } })
      .filter((line) => line.event.topic === 'rp-missing');
    expect(parked.map((line) => [line.code, line.event.partition, line.event.data])).toEqual([
      ['KAFKA_PARTITION_NOT_FOUND', 7, 'missing-7'],
      ['KAFKA_PARTITION_NOT_FOUND', 5, Buffer.from('missing-5').toString('base64')],
      ['KAFKA_PARTITION_NOT_FOUND', 3, 'missing-3'],
      ['KAFKA_PARTITION_NOT_FOUND', 9, 'missing-9'],
    ]);
    expect(parked[0]!.reason).toBe("partition 7 of topic 'rp-missing' does not exist (the topic has 3 partitions: 0 to 2)");
    const logged = daemon.logs().split('\n').filter((line) => line.includes('sink.dead_lettered') && line.includes("partition 7 of topic 'rp-missing'"));
    expect(logged.map((line) => JSON.parse(line).level)).toEqual(['error']);
    // An independent consumer: the delivered records are at the answered offsets, each once, and nothing else is in the topic.
    const messages = await consumeAll(kafka.brokers, 'rp-missing', { expected: 4, timeoutMs: 30_000 });
    expect(at(messages, good).map((m) => [m.key, m.value.toString()])).toEqual([
      [null, '"kept-0"'],
      [null, '"kept-1"'],
      ['"k"', '"kept-any"'],
    ]);
    expect(messages.map((m) => [m.value.toString(), m.partition]).sort()).toEqual([
      ['"after"', 2],
      ['"kept-0"', 0],
      ['"kept-1"', 1],
      ['"kept-any"', good[2]!.partition],
    ]);
  });

  it('kill -9 between ack=spool and delivery: after the restart every record lands in the partition it asked for', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sparkngin-it-partition-'));
    // Kafka unreachable at first (nothing listens on this port): the records wait in the spool.
    const unreachable = await startDaemon({ dataDir, config: { sinks: { kafka: { brokers: [`127.0.0.1:${await freePort()}`], retry: { initialMs: 100, maxMs: 1000 } } } } });
    let restarted: DaemonProcess | undefined;
    try {
      const records = Array.from({ length: 60 }, (_, i) => ({ key: Buffer.from(`key-${i % 5}`).toString('base64'), value: Buffer.from(`k9-${i}`).toString('base64'), partition: (i * 7) % 3 }));
      for (let i = 0; i < records.length; i += 20) {
        const response = await fetch(`${unreachable.url}/topics/rp-kill9`, { method: 'POST', headers: { 'content-type': 'application/vnd.kafka.binary.v2+json' }, body: JSON.stringify({ records: records.slice(i, i + 20) }) });
        expect(response.status).toBe(200);
      }
      await unreachable.kill();
      restarted = await startDaemon({ dataDir, config: { sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } } } });
      const messages = await consumeAll(kafka.brokers, 'rp-kill9', { expected: records.length, timeoutMs: 60_000 });
      const where = new Map(messages.map((m) => [m.value.toString(), m.partition]));
      expect(where.size).toBe(records.length);
      records.forEach((record, i) => expect(where.get(`k9-${i}`), `k9-${i}`).toBe(record.partition));
    } finally {
      await restarted?.close();
      await unreachable.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** The Kafka sink's dead-lettered records so far (/stats). */
async function deadLettered(of: DaemonProcess): Promise<number> {
  const stats = (await (await fetch(`${of.url}/stats`)).json()) as { sinks: Array<{ sink: string; deadLetteredRecords: number }> };
  return stats.sinks.find((sink) => sink.sink === 'kafka')!.deadLetteredRecords;
}
