// Sink instances and routes in the configuration (src/config/sinks.ts, src/sinks/<kind>/config.ts):
// old configurations keep working; named instances of any kind; routes; and every bad sink setting
// fails at start with a message that names its key.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { redactConfig } from '../../src/ops/redact';
import { enabledSinks } from '../../src/sinks/registry';
import { patternsOverlap } from '../../src/sinks/route';
import { problemsOf } from './config-helpers';
import { tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fromYaml(text: string, overrides: Record<string, string> = {}) {
  const temp = await tempDir('sparkngin-sinks-');
  cleanups.push(temp.remove);
  const file = join(temp.dir, 'sparkngin.yaml');
  await writeFile(file, text);
  return { file, load: () => loadConfig({ file, overrides }) };
}

async function problems(text: string, overrides: Record<string, string> = {}): Promise<string[]> {
  return problemsOf((await fromYaml(text, overrides)).load);
}

describe('sink instances', () => {
  it('keeps the old shape: sinks.kafka with brokers is the Kafka sink, named kafka', async () => {
    const { load } = await fromYaml('sinks:\n  kafka:\n    brokers: [k:9092]\n');
    const config = load();
    expect(config.sinks.kafka).toMatchObject({ kind: 'kafka', enabled: true, brokers: ['k:9092'] });
    expect(enabledSinks(config).map(({ name, kind }) => [name, kind])).toEqual([
      ['file', 'file'],
      ['kafka', 'kafka'],
    ]);
  });

  it('adds named instances of any kind, each with its kind’s defaults, on unless enabled: false', async () => {
    const { load } = await fromYaml(
      [
        'sinks:',
        '  analytics: {kind: kafka, brokers: ["a:9092"], compression: gzip, sasl: {mechanism: plain, username: u, password: secret}}',
        '  audit: {kind: syslog, endpoint: "tls://siem:6514", facility: auth}',
        '  taps: {kind: zeromq, endpoint: "tcp://127.0.0.1:7090", socket: pub, batch: {maxBytes: 2MiB}}',
        '  spare: {kind: flume, endpoint: "http://f:5140", enabled: false}',
        '  archive: {kind: file, dir: archive}',
      ].join('\n'),
      { 'sinks.taps.framing': 'nw1' },
    );
    const config = load();
    expect(config.sinks.analytics).toMatchObject({ kind: 'kafka', enabled: true, compression: 'gzip', clientId: 'sparkngin', batch: { maxRecords: 2000 } });
    expect(config.sinks.audit).toMatchObject({ kind: 'syslog', facility: 'auth', severity: 'info' });
    expect(config.sinks.taps).toMatchObject({ kind: 'zeromq', socket: 'pub', framing: 'nw1', batch: { maxBytes: 2 * 1024 * 1024 } });
    expect(config.sinks.archive).toMatchObject({ dir: join(config.dataDir, 'archive') });
    expect(enabledSinks(config).map(({ name }) => name)).toEqual(['file', 'analytics', 'audit', 'taps', 'archive']);
    // A named instance's secrets are secrets too.
    expect((redactConfig(config) as any).sinks.analytics.sasl.password).toBe('(redacted)');
  });

  it('refuses an unknown kind, a missing kind, a kind that contradicts the name, and a bad name, naming the key', async () => {
    expect(await problems('sinks:\n  audit: {kind: sislog, endpoint: "udp://h:514"}\n')).toEqual([
      "sinks.audit.kind: unknown sink kind 'sislog' (one of file, kafka, zeromq, syslog, flume; did you mean syslog?)",
    ]);
    const { file } = await fromYaml('');
    expect((await problems('sinks:\n  audit: {endpoint: "udp://h:514"}\n'))[0]).toMatch(/^sinks\.audit: unknown setting in .* \(a new sink needs a kind: one of file, kafka, zeromq, syslog, flume\)$/);
    expect(await problems('sinks:\n  kafka: {kind: syslog}\n')).toEqual(["sinks.kafka.kind: the sink named 'kafka' is of kind 'kafka' (give another name to a sink of kind 'syslog')"]);
    expect((await problems('sinks:\n  "../x": {kind: file}\n'))[0]).toMatch(/^sinks\.\.\.\/x: unknown setting in .*a sink name is 1 to 63/);
    expect(file).toBeTruthy();
  });

  it('refuses bad endpoints and bad settings of each kind, naming the instance’s key', async () => {
    const found = await problems(
      [
        'sinks:',
        '  kafka: {brokers: ["no-port"]}',
        '  taps: {kind: zeromq, endpoint: "tcp://h", batch: {maxBytes: 0}}',
        '  audit: {kind: syslog, endpoint: "syslog://h:514", facility: lokal0, appName: "has space"}',
        '  flume: {endpoint: "ftp://f"}',
        '  named: {kind: syslog}',
        '  analytics: {kind: kafka, brokers: ["a:9092"], compression: lz5, maxInFlight: 6, batch: {lingerMs: 20000}}',
        '  audit2: {kind: syslog, endpoint: "udp://h:514", batch: {lingerMs: 2.5}}',
        '  tier: {kind: flume, protocol: avro, endpoint: "http://f:4141"}',
        '  tier2: {kind: flume, protocol: thrift, endpoint: "f:4141", maxEventBytes: 0}',
        '  tier3: {kind: flume, protocol: avro, endpoint: "[::1]:4141"}',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        "sinks.kafka.brokers: expected host:port, got 'no-port'",
        "sinks.taps.endpoint: expected tcp://HOST:PORT or ipc:///PATH, got 'tcp://h'",
        // A read takes records while under maxBytes: 0 would have the sink spin on empty reads.
        'sinks.taps.batch.maxBytes: expected at least 1',
        "sinks.audit.endpoint: expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT, got 'syslog://h:514'",
        expect.stringMatching(/^sinks\.audit\.facility: expected one of kern\|user\|.*local7, got 'lokal0'/),
        'sinks.audit.appName: expected 1 to 48 printable ASCII characters (RFC 5424 APP-NAME)',
        "sinks.flume.endpoint: expected http://HOST:PORT (a Flume HTTP source), got 'ftp://f'",
        'sinks.named.endpoint: the syslog sink is enabled but no endpoint is given',
        "sinks.analytics.compression: expected one of none|gzip|snappy, got 'lz5'",
        'sinks.analytics.batch.lingerMs: expected whole milliseconds from 0 to 10000',
        'sinks.audit2.batch.lingerMs: expected a whole number, got 2.5',
        "sinks.tier.endpoint: expected HOST:PORT (a Flume Avro source, protocol avro), got 'http://f:4141'",
        expect.stringMatching(/^sinks\.tier2\.protocol: expected one of http\|avro, got 'thrift'/),
        // An unknown protocol leaves the default (http) in place.
        "sinks.tier2.endpoint: expected http://HOST:PORT (a Flume HTTP source; an Avro source's HOST:PORT needs protocol: avro), got 'f:4141'",
        'sinks.tier2.maxEventBytes: expected a size above 0, got 0',
        'sinks.analytics.maxInFlight: expected an integer from 1 to 5 (the most requests an idempotent producer keeps in order), got 6',
      ]),
    );
    expect(found).toHaveLength(16);
  });
});

describe('routes', () => {
  it('send the topics their patterns match to the sinks they name; unnamed sinks keep their own topics', async () => {
    const { load } = await fromYaml(
      [
        'sinks:',
        '  audit: {kind: syslog, endpoint: "udp://127.0.0.1:514"}',
        '  kafka: {brokers: ["k:9092"]}',
        'routes:',
        '  - {topics: ["web.*", "app"], sinks: [kafka, audit]}',
        '  - {topics: ["audit.*"], sinks: [audit]}',
      ].join('\n'),
    );
    const topics = Object.fromEntries(enabledSinks(load()).map(({ name, delivery }) => [name, delivery.topics]));
    expect(topics).toEqual({ file: ['*'], kafka: ['web.*', 'app'], audit: ['web.*', 'app', 'audit.*'] });
  });

  it('refuse a route naming no sink or a sink that is off, and patterns that can match nothing, naming the route', async () => {
    const found = await problems(
      ['http:', '  topics: ["web.*", "app.*"]', 'routes:', '  - {topics: ["web.*"], sinks: [kafak]}', '  - {topics: ["db.*", "web/x", "web.a"], sinks: [syslog, file]}'].join('\n'),
    );
    expect(found).toEqual([
      "routes: record 1: sinks names 'kafak', which is no sink (sinks: file, kafka, zeromq, syslog, flume; did you mean kafka?)",
      "routes: record 2: sinks names 'syslog', which is off (sinks.syslog.enabled, or its endpoint)",
      "routes: record 2: topics: 'db.*' matches no topic http.topics takes",
      "routes: record 2: topics: 'web/x' can match no topic (topics are 1 to 249 of a-z A-Z 0-9 . _ -; * matches any run of them)",
    ]);
    expect(await problems('http:\n  topics: ["web.*"]\nsinks:\n  file: {topics: ["db.*"]}\n')).toEqual(["sinks.file.topics: 'db.*' matches no topic http.topics takes, so the sink would get nothing"]);
    expect(await problems('sinks:\n  file: {topics: ["a"]}\nroutes:\n  - {topics: ["b"], sinks: [file]}\n')).toEqual(['sinks.file.topics: set, but routes name this sink too: say which topics it takes in one place']);
    expect(await problems('sinks:\n  file: {rename: "prod/{topic}"}\n')).toEqual([
      "sinks.file.rename: expected a topic name in which {topic} stands for the event's (a-z A-Z 0-9 . _ -), got 'prod/{topic}'",
    ]);
  });

  it('tells whether two topic patterns can match one topic', () => {
    const cases: Array<[string, string, boolean]> = [
      ['web.*', '*', true],
      ['web.*', 'web.clicks', true],
      ['web.*', 'db.*', false],
      ['*.clicks', 'web.*', true],
      ['a*b', 'a*c', false],
      ['a*b*', '*c', true],
      ['abc', 'abc', true],
      ['abc', 'abd', false],
      ['a*', 'b*', false],
    ];
    for (const [a, b, overlap] of cases) {
      expect(patternsOverlap(a, b), `${a} ∩ ${b}`).toBe(overlap);
      expect(patternsOverlap(b, a), `${b} ∩ ${a}`).toBe(overlap);
    }
  });
});
