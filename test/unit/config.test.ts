import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultConfig } from '../../src/config/defaults';
import { describeUnknownEnv, unknownEnvVariables } from '../../src/config/env';
import { envName, leafKeys, loadConfig } from '../../src/config/load';
import { kafkaTopic } from '../../src/sinks/kafka/record';
import { problemsOf } from './config-helpers';
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

/** Writes `text` over `file`, returning the file. */
function writeYaml(file: string, text: string): string {
  writeFileSync(file, text);
  return file;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

describe('config against hostile keys', () => {
  // Names that mean something to a plain JavaScript object. Each is a valid Kafka topic name too.
  const OBJECT_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', '__lookupSetter__', 'toLocaleString'];
  const hostileKey = fc.oneof(fc.constantFrom(...OBJECT_NAMES), fc.string({ maxLength: 12 }));
  const SECTIONS = [[], ['listen'], ['http'], ['spool'], ['sinks'], ['sinks', 'file'], ['sinks', 'kafka'], ['sinks', 'kafka', 'batch'], ['log']] as const;
  const value = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(new Map<string, unknown>([['polluted', 'yes'], ['toString', 'x'], ['port', 1]])),
  );

  /** Object.prototype as it is now: its own names and what they hold. */
  const prototypeState = () => Object.getOwnPropertyNames(Object.prototype).map((name) => [name, Object.getOwnPropertyDescriptor(Object.prototype, name)?.value]);
  const pristine = prototypeState();
  const expectNoPollution = () => {
    expect(prototypeState()).toEqual(pristine);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  };

  /** `{a: {b: {key: value}}}` for section [a, b], as a Map so that `__proto__` stays a key. */
  const nest = (section: readonly string[], key: string, leaf: unknown): Map<string, unknown> =>
    section.reduceRight<Map<string, unknown>>((inner, name) => new Map([[name, inner]]), new Map([[key, leaf]]));

  it('a YAML key that is no setting is reported by its dotted name, wherever it is, and pollutes nothing', async () => {
    const file = await yamlFile('');
    const defaults = defaultConfig() as unknown as Record<string, Record<string, unknown>>;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SECTIONS), hostileKey, value, async (section, key, leaf) => {
        const owner = section.reduce<Record<string, unknown>>((node, name) => node[name] as Record<string, unknown>, defaults);
        fc.pre(!Object.hasOwn(owner, key));
        await writeFile(file, stringify(nest(section, key, leaf)));
        const dotted = [...section, key].join('.');
        const problems = problemsOf(() => loadConfig({ file }));
        expect(problems.some((problem) => problem.startsWith(`${dotted}: unknown setting in ${file}`)), problems.join('\n')).toBe(true);
        expectNoPollution();
      }),
      { numRuns: 300 },
    );
  });

  it('sinks.kafka.topicMap takes any topic as a key, from YAML, env and flags, and maps nothing it was not given', async () => {
    const file = await yamlFile('');
    const topic = fc.oneof(fc.constantFrom(...OBJECT_NAMES), fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/));
    await fc.assert(
      fc.asyncProperty(topic, topic, fc.stringMatching(/^[a-z.]{1,10}$/), async (mapped, unmapped, target) => {
        fc.pre(mapped !== unmapped);
        await writeFile(file, stringify(nest(['sinks', 'kafka', 'topicMap'], mapped, target)));
        const sources = [{ file }, { env: { SPARKNGIN_SINKS_KAFKA_TOPIC_MAP: `${mapped}=${target}` } }, { overrides: new Map([['sinks.kafka.topicMap', `${mapped}=${target}`]]) }];
        for (const source of sources) {
          const kafka = loadConfig(source).sinks.kafka;
          expect(Object.keys(kafka.topicMap)).toEqual([mapped]);
          expect(kafkaTopic(kafka, mapped)).toBe(target);
          expect(kafkaTopic(kafka, unmapped)).toBe(unmapped);
        }
        expectNoPollution();
      }),
      { numRuns: 200 },
    );
    for (const name of OBJECT_NAMES) expect(kafkaTopic(loadConfig().sinks.kafka, name)).toBe(name);
  });

  it('a hostile flag key is refused by name; a hostile SPARKNGIN_* variable is named, never read', () => {
    fc.assert(
      fc.property(hostileKey, fc.constantFrom('', 'listen.', 'sinks.kafka.', 'sinks.kafka.topicMap.'), fc.string({ maxLength: 8 }), (key, prefix, raw) => {
        const dotted = prefix + key;
        fc.pre(!leafKeys().includes(dotted));
        const problems = problemsOf(() => loadConfig({ overrides: new Map([[dotted, raw]]) }));
        expect(problems[0]).toMatch(new RegExp(`^${escapeRegExp(dotted)}: unknown setting \\(flag\\)`));

        const variable = `SPARKNGIN_${key}`;
        const env = Object.fromEntries([[variable, raw], [key, raw]]);
        expect(loadConfig({ env })).toEqual(loadConfig());
        if (variable !== 'SPARKNGIN_' && !leafKeys().map(envName).includes(variable)) {
          expect(unknownEnvVariables(env).map((unknown) => unknown.variable)).toEqual([variable]);
        }
        expectNoPollution();
      }),
      { numRuns: 300 },
    );
  });

  it('a mapping or list as a YAML key, an alias bomb and a document that is no mapping are problems, not crashes', async () => {
    const complexKey = await yamlFile('listen:\n  ? [a, b]\n  : 1\n');
    expect(problemsOf(() => loadConfig({ file: complexKey }))).toEqual([expect.stringMatching(/^listen\.<a list>: a setting name must be a plain word/)]);
    // Nine levels of nine aliases: 9^9 strings if expanded.
    const levels = 'abcdefghij';
    const bomb = [`a: &a [${Array(9).fill('x').join(', ')}]`, ...[...levels.slice(1)].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(', ')}]`)].join('\n');
    expect(problemsOf(() => loadConfig({ file: writeYaml(complexKey, bomb) }))).toEqual([expect.stringMatching(/not usable YAML \(Excessive alias count/)]);
    const list = await yamlFile('- listen\n- port\n');
    expect(problemsOf(() => loadConfig({ file: list }))).toEqual([expect.stringMatching(/the top level must be a mapping of settings/)]);
  });
});

describe('unknown SPARKNGIN_* variables', () => {
  it('are named with the setting they most plausibly meant; tool variables and settings are not', () => {
    const env = {
      SPARKNGIN_LISTEN_PORTT: '1',
      SPARKNGIN_KAFKA_BROKERS: 'k:9092',
      sparkngin_log_level: 'debug',
      SPARKNGIN_SPOOL_MAXBYTES: '1GiB',
      SPARKNGIN_WHATEVER: 'x',
      SPARKNGIN_LISTEN_PORT: '7081',
      SPARKNGIN_CACHE: '/tmp',
      PATH: '/bin',
    };
    expect(unknownEnvVariables(env)).toEqual([
      { variable: 'SPARKNGIN_KAFKA_BROKERS', closest: 'SPARKNGIN_SINKS_KAFKA_BROKERS' },
      { variable: 'SPARKNGIN_LISTEN_PORTT', closest: 'SPARKNGIN_LISTEN_PORT' },
      { variable: 'SPARKNGIN_SPOOL_MAXBYTES', closest: 'SPARKNGIN_SPOOL_MAX_BYTES' },
      { variable: 'SPARKNGIN_WHATEVER' },
      { variable: 'sparkngin_log_level', closest: 'SPARKNGIN_LOG_LEVEL' },
    ]);
    expect(describeUnknownEnv({ variable: 'SPARKNGIN_LISTEN_PORTT', closest: 'SPARKNGIN_LISTEN_PORT' })).toBe(
      'environment variable SPARKNGIN_LISTEN_PORTT is not a setting (did you mean SPARKNGIN_LISTEN_PORT?); it is ignored',
    );
  });

  it('unknown file keys and flags name the key they most plausibly meant', async () => {
    const file = await yamlFile('port: 1\nsinks:\n  fiel: {}\n  kafka:\n    maxBytes: 1\n    compresion: gzip\n');
    expect(problemsOf(() => loadConfig({ file }))).toEqual([
      `port: unknown setting in ${file} (did you mean listen.port?)`,
      `sinks.fiel: unknown setting in ${file} (did you mean sinks.file?)`,
      `sinks.kafka.maxBytes: unknown setting in ${file} (did you mean sinks.kafka.batch.maxBytes?)`,
      `sinks.kafka.compresion: unknown setting in ${file} (did you mean sinks.kafka.compression?)`,
    ]);
    expect(problemsOf(() => loadConfig({ overrides: { 'spool.fsnyc': 'always' } }))).toEqual(['spool.fsnyc: unknown setting (flag) (did you mean spool.fsync?)']);
  });
});

describe('ingest bounds and the tracking pixel', () => {
  it('refuses a tracker topic or header name that could not be used, and limits below 1', () => {
    expect(problemsOf(() => loadConfig({ overrides: { 'tracker.topic': 'not a topic' } }))[0]).toMatch(/tracker\.topic: expected a topic name/);
    expect(problemsOf(() => loadConfig({ overrides: { 'tracker.headers': 'user-agent,bad name' } }))[0]).toMatch(/tracker\.headers: expected header names, got 'bad name'/);
    expect(problemsOf(() => loadConfig({ overrides: { 'http.maxPipelinedRequests': '0' } }))[0]).toMatch(/http\.maxPipelinedRequests: expected at least 1/);
    expect(loadConfig({ overrides: { 'http.maxUnreadResponseBytes': '64KiB', 'tracker.headers': 'User-Agent,DNT' } })).toMatchObject({
      http: { maxUnreadResponseBytes: 64 * 1024 },
      tracker: { headers: ['User-Agent', 'DNT'] },
    });
  });
});
