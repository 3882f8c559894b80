// What the daemon shows must not give away what only its operator should know:
//   - secrets (SECRET_KEYS, the token hashes of RECORD_LIST_KEYS) are replaced in `config show`,
//     which is pasted into tickets and chats;
//   - absolute paths (the data dir, spool and dead-letter files, which reveal the layout of the
//     machine) are cut out of what the operations endpoints send over the network: a path under the
//     data dir becomes `<dataDir>/…`, any other keeps only its file name.
import { type Config, RECORD_LIST_KEYS, SECRET_KEYS, sinkRuleKey } from '../config/defaults';

export const REDACTED = '(redacted)';

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Copies are null-prototype objects: a key such as `__proto__` (a topic in topicMap) stays a key. */
function plainCopy(entries: Iterable<readonly [string, unknown]>): Plain {
  const out = Object.create(null) as Plain;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** A copy of the configuration with every secret replaced by REDACTED (empty ones stay empty: "not set" is no secret). */
export function redactConfig(config: Config): Plain {
  const walk = (node: Plain, prefix: string): Plain =>
    plainCopy(
      Object.entries(node).map(([key, value]) => {
        const path = prefix + key;
        const schema = Object.hasOwn(RECORD_LIST_KEYS, path) ? RECORD_LIST_KEYS[path] : undefined;
        if (schema?.sha256 !== undefined && Array.isArray(value)) return [key, value.map((record: Plain) => ({ ...record, sha256: REDACTED }))];
        // A named sink instance's key is its kind's (sinks.analytics.sasl.password is sinks.kafka.sasl.password).
        if (SECRET_KEYS.has(sinkRuleKey(path, config.sinks))) return [key, value === '' ? '' : REDACTED];
        return [key, isPlain(value) ? walk(value, `${path}.`) : value];
      }),
    );
  return walk(config as unknown as Plain, '');
}

/** `value` with every absolute path in its strings cut down (see the top of this file). */
export function withoutPaths<T>(value: T, dataDir: string): T {
  const root = dataDir.endsWith('/') ? dataDir.slice(0, -1) : dataDir;
  // An absolute path: after the start, a space, a quote, '(' or '=', up to the next such character.
  const absolute = /(^|[\s'"(=])\/[^\s'"()]*/g;
  const scrub = (text: string): string =>
    text.indexOf('/') === -1
      ? text
      : text.split(root + '/').join('<dataDir>/').replace(absolute, (match, before: string) => `${before}…/${match.slice(match.lastIndexOf('/') + 1)}`);
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return scrub(node);
    if (Array.isArray(node)) return node.map(walk);
    if (isPlain(node)) return plainCopy(Object.entries(node).map(([key, item]) => [key, walk(item)]));
    return node;
  };
  return walk(value) as T;
}
