import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envName, loadConfig } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function yamlFile(text: string): Promise<string> {
  const temp = await tempDir('sparkngin-config-');
  cleanups.push(temp.remove);
  const file = join(temp.dir, 'sparkngin.yaml');
  await writeFile(file, text);
  return file;
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has a working dev default: 127.0.0.1:7080, ./data, file sink on, Kafka off', () => {
    const config = loadConfig();
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 7080 });
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.sinks.file.enabled).toBe(true);
    expect(config.sinks.file.dir).toBe(join(process.cwd(), 'data', 'out'));
    expect(config.sinks.kafka.enabled).toBe(false);
  });

  it('layers file < env < flags, and a broker list turns Kafka on', async () => {
    const file = await yamlFile('listen:\n  port: 8000\nspool:\n  fsync: always\n  segmentBytes: 1MiB\nsinks:\n  kafka:\n    brokers: [a:9092]\n');
    const config = loadConfig({ file, env: { SPARKNGIN_LISTEN_PORT: '8001', SPARKNGIN_SPOOL_FSYNC: 'never' }, overrides: { 'spool.fsync': 'batch' } });
    expect(config.listen.port).toBe(8001);
    expect(config.spool.fsync).toBe('batch');
    expect(config.spool.segmentBytes).toBe(1024 * 1024);
    expect(config.sinks.kafka).toMatchObject({ enabled: true, brokers: ['a:9092'] });
    expect(envName('sinks.kafka.topicMap')).toBe('SPARKNGIN_SINKS_KAFKA_TOPIC_MAP');
    expect(loadConfig({ env: { SPARKNGIN_SINKS_KAFKA_TOPIC_MAP: 'a=b,c=d' } }).sinks.kafka.topicMap).toEqual({ a: 'b', c: 'd' });
  });

  it('names every bad key, value and expectation in one error', async () => {
    const file = await yamlFile('listen:\n  port: 99999\n  hots: x\nspool:\n  fsync: sometimes\n  maxBytes: lots\nsinks:\n  kafka:\n    enabled: true\n');
    const problems = problemsOf(() => loadConfig({ file }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen\.port: expected a port from 0 to 65535, got 99999/),
        expect.stringMatching(/^listen\.hots: unknown setting/),
        expect.stringMatching(/^spool\.fsync: expected one of batch\|always\|never, got 'sometimes'/),
        expect.stringMatching(/^spool\.maxBytes: expected a size/),
        expect.stringMatching(/^sinks\.kafka\.brokers: the Kafka sink is enabled but no broker is given/),
      ]),
    );
  });

  it('rejects unparsable YAML with the line, and a missing file', async () => {
    const file = await yamlFile('listen:\n  port: [1,\n');
    expect(problemsOf(() => loadConfig({ file }))[0]).toMatch(/not valid YAML/);
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/sparkngin.yaml' }))[0]).toMatch(/cannot read \(ENOENT\)/);
    expect(problemsOf(() => loadConfig({ overrides: { 'no.such': '1' } }))[0]).toMatch(/no\.such: unknown setting/);
  });
});

describe('config strings', () => {
  it("takes '' where it means something (no topic prefix), and refuses it elsewhere", () => {
    expect(loadConfig({ overrides: { 'sinks.kafka.topicPrefix': '' } }).sinks.kafka.topicPrefix).toBe('');
    expect(problemsOf(() => loadConfig({ overrides: { 'listen.host': '' } }))[0]).toMatch(/listen\.host: expected a non-empty string/);
  });
});
