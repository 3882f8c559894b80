// Builds the effective configuration: defaults ← YAML file ← SPARKNGIN_* env ← command-line flags.
// Validation is strict and names the key, the value and what was expected, collecting every problem
// so that one run of `sparkngin config check` shows them all.
//
// Every key comes from a user, so no key is ever used to look up or create a property of a plain
// object: YAML mappings are read as Maps, a key is known only if the defaults have it as their *own*
// property (`constructor`, `__proto__`, `toString` are inherited, hence unknown), and map-valued
// settings (sinks.kafka.topicMap) are null-prototype objects, in which a topic named `constructor`
// is just a key.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors';
import { isCredentialHeader } from '../ingest/auth';
import { isLegalTopic } from '../ingest/topic';
import { threadsProblems } from '../ingest/threads/config';
import { checkZmq } from '../ingest/zmq/config';
import { type Config, defaultConfig, ENUMS, MAP_KEYS, RECORD_LIST_KEYS, SECRET_KEYS, SIZE_KEYS, sinkRuleKey } from './defaults';
import { nearest } from './nearest';
import { parseSize } from './size';
import { checkSinks, enableBySwitch, sinkInstance, resolveSinks } from './sinks';

export interface ConfigSources {
  /** Path of a YAML file, if any. */
  file?: string;
  /** Environment to read SPARKNGIN_* from (defaults to none, so tests stay hermetic). */
  env?: NodeJS.ProcessEnv;
  /** Dotted-key overrides from flags, e.g. `{ 'listen.port': '7081' }`, applied last. */
  overrides?: ReadonlyMap<string, string> | Record<string, string>;
}

type Plain = Record<string, unknown>;
/** A YAML mapping as read: keys may be any scalar (or worse), never turned into properties. */
type YamlMap = Map<unknown, unknown>;

const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);

/**
 * Every settable leaf key of the config, dotted (`spool.fsync`). Map keys count as leaves. A sink
 * instance's `kind` is no setting of its own: it says which settings the instance has.
 */
export function leafKeys(node: Plain = defaultConfig() as unknown as Plain, prefix = '', root: Plain = node): string[] {
  return Object.entries(node).flatMap(([key, value]) => {
    const path = prefix + key;
    if (key === 'kind' && /^sinks\.[^.]+\.$/.test(prefix)) return [];
    return isPlain(value) && !MAP_KEYS.has(sinkRuleKey(path, root.sinks as Record<string, { kind: string }>)) ? leafKeys(value, `${path}.`, root) : [path];
  });
}

/** Every key a user may write: the leaves and the sections above them (`sinks`, `sinks.kafka`). */
function allKeys(): string[] {
  return [...new Set(leafKeys().flatMap((key) => key.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))))];
}

/** The rule key of `key` in the config being built (see sinkRuleKey). */
const ruleKey = (key: string, config: Plain): string => sinkRuleKey(key, config.sinks as Record<string, { kind: string }>);

/** `spool.maxBytes` → `SPARKNGIN_SPOOL_MAX_BYTES`. */
export function envName(key: string): string {
  return `SPARKNGIN_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()}`;
}

/** A `Record<string, string>` without a prototype, so that any string is an ordinary key of it. */
function stringMap(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const map = Object.create(null) as Record<string, string>;
  for (const [key, value] of entries) map[key] = value;
  return map;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = [];
  const config = defaultConfig() as unknown as Plain;
  /** Keys some source set, whatever the value. */
  const given = new Set<string>();

  if (sources.file !== undefined) {
    const fromFile = readYaml(sources.file, problems);
    if (fromFile !== undefined) mergeFile(config, fromFile, '', { problems, given, file: sources.file, root: config });
  }
  // Env variables name the settings every configuration has (the sink instances named after their
  // kinds among them); flags also reach the instances the file added.
  for (const key of leafKeys()) {
    const raw = sources.env?.[envName(key)];
    if (raw !== undefined) setFromString(config, key, raw, problems, `env ${envName(key)}`, given);
  }
  const leaves = leafKeys(config);
  for (const [key, raw] of overrideEntries(sources)) {
    if (!leaves.includes(key)) problems.push(`${key}: unknown setting (flag)${didYouMean(key, leaves)}`);
    else setFromString(config, key, raw, problems, 'flag', given);
  }

  const result = config as unknown as Config;
  // An endpoint given anywhere (Kafka brokers, a syslog endpoint) turns its sink on, unless it was explicitly disabled.
  enableBySwitch(result, given);
  checkRelations(result, problems, given);
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  result.dataDir = resolve(result.dataDir);
  for (const name of ['cert', 'key', 'ca'] as const) if (result.tls[name] !== '') result.tls[name] = resolve(result.tls[name]);
  resolveSinks(result);
  if (result.agent.ca !== '') result.agent.ca = resolve(result.agent.ca);
  return result;
}

function overrideEntries(sources: ConfigSources): Array<[string, string]> {
  const { overrides } = sources;
  return overrides === undefined ? [] : overrides instanceof Map ? [...overrides] : Object.entries(overrides);
}

function didYouMean(key: string, known: readonly string[]): string {
  const guess = nearest(key, known, '.');
  return guess === undefined ? '' : ` (did you mean ${guess}?)`;
}

function readYaml(file: string, problems: string[]): YamlMap | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return undefined;
  }
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const where = error.linePos ? ` line ${error.linePos[0].line}` : '';
    problems.push(`${file}:${where} not valid YAML (${error.message.split('\n')[0]})`);
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ mapAsMap: true });
  } catch (thrown) {
    // Too many aliases (a "billion laughs" file) and the like.
    problems.push(`${file}: not usable YAML (${(thrown as Error).message.split('\n')[0]})`);
    return undefined;
  }
  if (value === null || value === undefined) return new Map();
  if (!(value instanceof Map)) {
    problems.push(`${file}: the top level must be a mapping of settings`);
    return undefined;
  }
  return value;
}

/** A YAML key as a setting name: scalars by their text; a mapping or list as a key names nothing. */
function keyText(key: unknown): string | undefined {
  return typeof key === 'string' ? key : typeof key === 'number' || typeof key === 'boolean' || key === null ? String(key) : undefined;
}

interface MergeContext {
  problems: string[];
  given: Set<string>;
  file: string;
  /** The whole config being built (sink instances tell their keys' rules). */
  root: Plain;
}

function mergeFile(target: Plain, source: YamlMap, prefix: string, context: MergeContext): void {
  const { problems, given, file } = context;
  for (const [rawKey, value] of source) {
    const key = keyText(rawKey);
    if (key === undefined) {
      problems.push(`${prefix}<${describe(rawKey)}>: a setting name must be a plain word (${file})`);
      continue;
    }
    const path = prefix + key;
    if (prefix === 'sinks.') {
      // A sink instance: one named after its kind, or a new one of the `kind` it says.
      const kind = value instanceof Map ? [...value].find(([name]) => name === 'kind')?.[1] : undefined;
      const unknown = (hint: string) => `unknown setting in ${file}${didYouMean(path, allKeys()) || ` (${hint})`}`;
      const found = sinkInstance(target, key, kind === undefined || typeof kind === 'string' ? kind : describe(kind), unknown);
      if ('problem' in found) problems.push(`${found.key}: ${found.problem}`);
      else if (!(value instanceof Map)) problems.push(`${path}: expected a mapping (the sink's settings), got ${describe(value)}`);
      else mergeFile(found.instance, value, `${path}.`, context);
      continue;
    }
    if (key === 'kind' && /^sinks\.[^.]+\.$/.test(prefix)) continue; // read by sinkInstance
    if (!Object.hasOwn(target, key)) {
      problems.push(`${path}: unknown setting in ${file}${didYouMean(path, allKeys())}`);
      continue;
    }
    const current = target[key];
    if (isPlain(current) && !MAP_KEYS.has(ruleKey(path, context.root))) {
      if (!(value instanceof Map)) problems.push(`${path}: expected a mapping, got ${describe(value)}`);
      else mergeFile(current, value, `${path}.`, context);
      continue;
    }
    const checked = coerce(path, current, value, ruleKey(path, context.root));
    if (typeof checked === 'string' && checked.startsWith('\0')) problems.push(`${path}: ${checked.slice(1)}`);
    else {
      target[key] = checked;
      given.add(path);
    }
  }
}

function setFromString(root: Plain, key: string, raw: string, problems: string[], origin: string, given: Set<string>): void {
  const parts = key.split('.');
  const last = parts.pop() as string;
  let node = root;
  for (const part of parts) node = node[part] as Plain;
  const current = node[last];
  const rule = ruleKey(key, root);
  let value: unknown = raw;
  if (Object.hasOwn(RECORD_LIST_KEYS, key)) value = parseJsonList(raw);
  else if (Array.isArray(current)) value = raw === '' ? [] : raw.split(',').map((item) => item.trim());
  else if (MAP_KEYS.has(rule)) value = parseMapString(raw);
  const checked = coerce(key, current, value, rule);
  if (typeof checked === 'string' && checked.startsWith('\0')) problems.push(`${key}: ${checked.slice(1)} (${origin})`);
  else {
    node[last] = checked;
    given.add(key);
  }
}

/** `a=b,c=d` → Map {a→b, c→d}, for map settings given as env or flags; the raw text when malformed. */
function parseMapString(raw: string): Map<string, string> | string {
  const map = new Map<string, string>();
  for (const pair of raw.split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) return raw;
    map.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return map;
}

/** A list of records from an env variable or flag is JSON: `[{"name":"web","sha256":"…","topics":["*"]}]`; '' is none. */
function parseJsonList(raw: string): unknown {
  if (raw.trim() === '') return [];
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

type FieldType = 'string' | 'sha256' | 'strings';

/**
 * A record list (RECORD_LIST_KEYS): every record a mapping (a YAML Map, or an object from env JSON)
 * with exactly the schema's fields. The result is built from the schema's field names only.
 */
function recordList(value: unknown, schema: Record<string, FieldType>): unknown {
  const fields = Object.keys(schema);
  const shape = `a list of {${fields.join(', ')}}`;
  // Not echoed when it is text: it came from an env variable or flag and may hold hashes.
  if (!Array.isArray(value)) return `\0expected ${shape}, got ${typeof value === 'string' ? 'text that is not a JSON list' : describe(value)}`;
  const names = new Set<string>();
  const records: Plain[] = [];
  for (const [index, raw] of value.entries()) {
    const where = `record ${index + 1}`;
    const entries = raw instanceof Map ? [...raw].map(([key, item]) => [keyText(key) ?? '<not a word>', item] as const) : isPlain(raw) ? Object.entries(raw) : undefined;
    if (entries === undefined) return `\0expected ${shape}; ${where} is ${describe(raw)}`;
    const given = new Map<string, unknown>(entries);
    const unknown = [...given.keys()].filter((field) => !Object.hasOwn(schema, field));
    if (unknown.length > 0) return `\0${where}: unknown field ${unknown.join(', ')} (expected ${fields.join(', ')})`;
    const record: Plain = {};
    for (const field of fields) {
      const item = given.get(field);
      const type = schema[field]!;
      const ok =
        type === 'strings'
          ? Array.isArray(item) && item.length > 0 && item.every((v) => typeof v === 'string' && v !== '')
          : type === 'sha256'
            ? typeof item === 'string' && /^[0-9a-f]{64}$/i.test(item)
            : typeof item === 'string' && item !== '';
      const expected = type === 'strings' ? 'a non-empty list of strings' : type === 'sha256' ? '64 hex digits (`sparkngin token new` prints them)' : 'a non-empty string';
      // Hashes are not echoed: the message may end up in a log or a terminal scrollback.
      if (!ok) return `\0${where}: ${field} expected ${expected}, got ${type === 'sha256' && typeof item === 'string' ? 'something else' : describe(item)}`;
      record[field] = type === 'sha256' ? (item as string).toLowerCase() : type === 'strings' ? [...(item as string[])] : item;
    }
    const name = String(record[fields[0]!]);
    if (names.has(name)) return `\0${where}: ${fields[0]} '${name}' appears twice`;
    names.add(name);
    records.push(record);
  }
  return records;
}

/**
 * Checks `value` against the type of the default `current` (plus enum and size rules) and returns
 * the value to store, or a problem text marked with a leading NUL.
 */
function coerce(key: string, current: unknown, value: unknown, rule: string = key): unknown {
  const fail = (expected: string) => `\0expected ${expected}, got ${SECRET_KEYS.has(rule) ? 'something else (not shown: a secret)' : describe(value)}`;
  if (Object.hasOwn(RECORD_LIST_KEYS, key)) return recordList(value, RECORD_LIST_KEYS[key]!);
  const allowed = Object.hasOwn(ENUMS, rule) ? ENUMS[rule] : undefined;
  if (allowed) return typeof value === 'string' && allowed.includes(value) ? value : fail(`one of ${allowed.join('|')}`);
  if (MAP_KEYS.has(rule)) {
    if (!(value instanceof Map)) return fail('a mapping of strings');
    const entries: Array<[string, string]> = [];
    for (const [name, text] of value) {
      const topic = keyText(name);
      if (topic === undefined || typeof text !== 'string') return fail('a mapping of strings');
      entries.push([topic, text]);
    }
    return stringMap(entries);
  }
  if (Array.isArray(current)) {
    if (typeof value === 'string') value = [value];
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : fail('a list of strings');
  }
  switch (typeof current) {
    case 'number': {
      if (SIZE_KEYS.has(rule) && typeof value === 'string') {
        const size = parseSize(value);
        return size === undefined ? fail('a size such as 1048576, 64KiB, 16MiB or 10GiB') : size;
      }
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) return fail('a non-negative number');
      if (key.endsWith('jitter') && number > 1) return fail('a number from 0 to 1');
      if (!/(jitter|factor|PerSecond)$/.test(key) && !Number.isInteger(number)) return fail('a whole number');
      if (key === 'listen.port' && number > 65535) return fail('a port from 0 to 65535');
      return number;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1' || value === 'yes') return true;
      if (value === 'false' || value === '0' || value === 'no') return false;
      return fail('true or false');
    }
    default:
      if (typeof value !== 'string') return fail('a string');
      // '' is meaningful where it is the default (no prefix, no file, no listener).
      return value !== '' || current === '' ? value : fail('a non-empty string');
  }
}

function checkRelations(config: Config, problems: string[], given: ReadonlySet<string>): void {
  if (config.spool.segmentBytes < 4096) problems.push(`spool.segmentBytes: expected at least 4096, got ${config.spool.segmentBytes}`);
  if (config.spool.maxBytes < config.spool.segmentBytes * 2) {
    problems.push(`spool.maxBytes: expected at least twice spool.segmentBytes (${config.spool.segmentBytes * 2}), got ${config.spool.maxBytes}`);
  }
  for (const key of ['maxConnections', 'maxPipelinedRequests', 'maxEventsPerRequest', 'maxSinkAckRequests'] as const) {
    if (config.http[key] < 1) problems.push(`http.${key}: expected at least 1`);
  }
  problems.push(...threadsProblems(config));
  for (const key of ['tracker', 'heartbeat'] as const) {
    if (!isLegalTopic(config[key].topic)) problems.push(`${key}.topic: expected a topic name (1 to 249 of a-z A-Z 0-9 . _ -), got '${config[key].topic}'`);
  }
  if (config.heartbeat.intervalSeconds < 1) problems.push(`heartbeat.intervalSeconds: expected at least 1, got ${config.heartbeat.intervalSeconds}`);
  for (const name of config.tracker.headers) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) problems.push(`tracker.headers: expected header names, got '${name}'`);
  }
  for (const name of config.discovery.interfaces) {
    if (!/^[^\s/]{1,15}$/.test(name)) problems.push(`discovery.interfaces: expected interface names (1 to 15 characters, no space or /), got '${name}'`);
  }
  // A DNS label holds 63 bytes; the ` (N)` a conflict adds is kept whole, the name is cut before it.
  if (Buffer.byteLength(config.discovery.name) > 63 || /[\x00-\x1f\x7f]/.test(config.discovery.name)) {
    problems.push('discovery.name: expected at most 63 bytes of UTF-8 without control characters');
  }
  checkGanglia(config.ganglia, problems);
  checkAgent(config.agent, problems);
  checkSinks(config, problems, given);
  checkSecurity(config, problems);
  checkZmq(config, problems);
}

function checkGanglia(ganglia: Config['ganglia'], problems: string[]): void {
  for (const host of ganglia.hosts) {
    if (!/^(\[[0-9a-fA-F:]+\]|[^\s:\[\]]+)(:\d{1,5})?$/.test(host) && isIP(host) !== 6) problems.push(`ganglia.hosts: expected host:port or host, got '${host}'`);
  }
  if (ganglia.intervalSeconds < 1) problems.push(`ganglia.intervalSeconds: expected at least 1, got ${ganglia.intervalSeconds}`);
  if (ganglia.metadataIntervalSeconds < ganglia.intervalSeconds) problems.push('ganglia.metadataIntervalSeconds: expected at least ganglia.intervalSeconds');
  if (ganglia.dmaxSeconds < 0) problems.push(`ganglia.dmaxSeconds: expected 0 or more, got ${ganglia.dmaxSeconds}`);
  // gmond takes IP:NAME and shows NAME with that address.
  if (ganglia.spoofHost !== '' && !/^[0-9a-fA-F.:]+:[A-Za-z0-9][A-Za-z0-9.-]*$/.test(ganglia.spoofHost)) problems.push(`ganglia.spoofHost: expected IP:NAME (10.0.0.7:web-07), got '${ganglia.spoofHost}'`);
  if (!Number.isInteger(ganglia.multicastTtl) || ganglia.multicastTtl < 1 || ganglia.multicastTtl > 255) problems.push(`ganglia.multicastTtl: expected 1 to 255, got ${ganglia.multicastTtl}`);
  if (ganglia.multicastInterface !== '' && isIP(ganglia.multicastInterface) === 0) problems.push(`ganglia.multicastInterface: expected an IP address of an interface, got '${ganglia.multicastInterface}'`);
}

/** `sparkngin agent`'s settings (the daemon reads none of them, but a typo should not wait for the agent). */
function checkAgent(agent: Config['agent'], problems: string[]): void {
  if (!HOST_PORT.test(agent.listen)) problems.push(`agent.listen: expected HOST:PORT, got '${agent.listen}'`);
  for (const url of [...agent.instances, ...(agent.eventsUrl === '' ? [] : [agent.eventsUrl])]) {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) problems.push(`agent: expected an http:// or https:// URL, got '${url}'`);
  }
  if (agent.pollIntervalMs < 100) problems.push(`agent.pollIntervalMs: expected at least 100, got ${agent.pollIntervalMs}`);
  if (agent.lateAfterSeconds <= 0) problems.push(`agent.lateAfterSeconds: expected more than 0, got ${agent.lateAfterSeconds}`);
  if (agent.lagGrowthPolls < 1) problems.push(`agent.lagGrowthPolls: expected at least 1, got ${agent.lagGrowthPolls}`);
  if (!isLegalTopic(agent.eventsTopic)) problems.push(`agent.eventsTopic: expected a topic name, got '${agent.eventsTopic}'`);
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[^\s:\[\]]+):\d{1,5}$/;

/** TLS, auth, rate limits and the ops listener: settings that only mean something together. */
function checkSecurity(config: Config, problems: string[]): void {
  const { tls, auth, rateLimit, ops } = config;
  if ((tls.cert === '') !== (tls.key === '')) problems.push('tls.cert, tls.key: give both (the certificate and its private key) or neither');
  if (tls.clientCerts !== 'none' && tls.cert === '') problems.push(`tls.clientCerts: '${tls.clientCerts}' needs TLS (tls.cert and tls.key)`);
  if (tls.clientCerts !== 'none' && tls.ca === '') problems.push(`tls.clientCerts: '${tls.clientCerts}' needs tls.ca, the CA client certificates must chain to`);
  if (tls.ca !== '' && tls.clientCerts === 'none') problems.push("tls.ca: only used to check client certificates; set tls.clientCerts to 'request' or 'require'");
  if (auth.certificates.length > 0 && tls.clientCerts === 'none') problems.push("auth.certificates: needs client certificates (tls.clientCerts 'request' or 'require')");
  if (auth.openTopics.length > 0 && auth.tokens.length === 0 && auth.certificates.length === 0) {
    problems.push('auth.openTopics: without auth.tokens or auth.certificates every topic is open already');
  }
  for (const name of config.tracker.headers) {
    if (isCredentialHeader(name, auth.apiKeyHeader)) problems.push(`tracker.headers: '${name}' carries a credential, which is never captured`);
  }
  if (config.http.topics.length === 0) problems.push('http.topics: empty, so every topic would be refused; ["*"] takes all');
  if (!/^[A-Za-z0-9-]+$/.test(auth.apiKeyHeader) || /^(authorization|x-sparkngin-.*)$/i.test(auth.apiKeyHeader)) {
    problems.push(`auth.apiKeyHeader: expected a header name of its own (letters, digits, '-'), got '${auth.apiKeyHeader}'`);
  }
  if ((rateLimit.requestsPerSecond > 0 || rateLimit.eventsPerSecond > 0 || rateLimit.bytesPerSecond > 0) && rateLimit.burstSeconds < 1) {
    problems.push('rateLimit.burstSeconds: expected at least 1 while a rate limit is on');
  }
  if (rateLimit.requestsPerSecond > 0 && rateLimit.requestsPerSecond * rateLimit.burstSeconds < 1) {
    problems.push('rateLimit.requestsPerSecond: times rateLimit.burstSeconds must be at least 1 (a bucket that never holds one request lets none in)');
  }
  if (rateLimit.maxClients < 1) problems.push('rateLimit.maxClients: expected at least 1');
  if (ops.listen !== '' && !HOST_PORT.test(ops.listen)) problems.push(`ops.listen: expected HOST:PORT (or ''), got '${ops.listen}'`);
}

export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map || isPlain(value)) return 'a mapping';
  return typeof value === 'string' ? `'${value}'` : String(value);
}
