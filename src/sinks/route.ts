// Which events a sink takes: topic patterns where `*` matches any run of characters, and the sink's
// filter on the event's key and headers. The topic is read from the spooled bytes without decoding
// the rest (peekTopic), so a sink decodes only the records it takes.
import type { Envelope } from '../envelope/envelope';
import type { SinkFilterConfig } from './kind';

export type TopicFilter = (topic: string) => boolean;

export function topicFilter(patterns: string[]): TopicFilter {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*')));
  const globs = patterns.filter((pattern) => pattern.includes('*')).map(globRegExp);
  const cache = new Map<string, boolean>();
  return (topic) => {
    let hit = cache.get(topic);
    if (hit === undefined) {
      hit = exact.has(topic) || globs.some((glob) => glob.test(topic));
      if (cache.size < 10_000) cache.set(topic, hit);
    }
    return hit;
  };
}

/** A filter on what the topic does not say: the key and the headers (undefined when the sink has none). */
export function eventFilter(filter: SinkFilterConfig): ((envelope: Envelope) => boolean) | undefined {
  const headers = Object.entries(filter.headers).map(([name, pattern]) => [name, globRegExp(pattern)] as const);
  if (filter.keys.length === 0 && headers.length === 0) return undefined;
  const keys = filter.keys.length === 0 ? undefined : filter.keys.map(globRegExp);
  return (envelope) => {
    if (keys !== undefined && (envelope.key === undefined || !keys.some((key) => key.test(envelope.key!)))) return false;
    for (const [name, pattern] of headers) {
      const value = Object.hasOwn(envelope.headers, name) ? envelope.headers[name] : undefined;
      if (value === undefined || !pattern.test(value)) return false;
    }
    return true;
  };
}

/** The topic a sink is given: `rename` with `{topic}` replaced by the event's, or the event's when there is none. */
export function renamer(rename: string): ((topic: string) => string) | undefined {
  if (rename === '') return undefined;
  return (topic) => rename.replaceAll('{topic}', topic);
}

/** Why a topic pattern can match no legal topic, or undefined when it can. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'expected a topic pattern, got an empty one';
  if (!/^[a-zA-Z0-9._*-]+$/.test(pattern)) return `'${pattern}' can match no topic (topics are 1 to 249 of a-z A-Z 0-9 . _ -; * matches any run of them)`;
  if (pattern.replaceAll('*', '').length > 249) return `'${pattern}' can match no topic (longer than 249 characters)`;
  return undefined;
}

/** Whether some topic matches both patterns (each `*` any run of characters). */
export function patternsOverlap(a: string, b: string): boolean {
  // Two globs meet if a string matches both: walk both at once, a `*` on either side taking nothing or one more character.
  const seen = new Map<number, boolean>();
  const meet = (i: number, j: number): boolean => {
    const slot = i * (b.length + 1) + j;
    const known = seen.get(slot);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (i < a.length && a[i] === '*') result = meet(i + 1, j) || (j < b.length && meet(i, j + 1));
    else if (j < b.length && b[j] === '*') result = meet(i, j + 1) || (i < a.length && meet(i + 1, j));
    else result = i < a.length && j < b.length && a[i] === b[j] && meet(i + 1, j + 1);
    seen.set(slot, result);
    return result;
  };
  return meet(0, 0);
}

const globRegExp = (pattern: string): RegExp => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');

const escapeRegExp = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
