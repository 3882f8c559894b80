// Which topics a sink takes: a list of patterns where `*` matches any run of characters.
export type TopicFilter = (topic: string) => boolean;

export function topicFilter(patterns: string[]): TopicFilter {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*')));
  const globs = patterns
    .filter((pattern) => pattern.includes('*'))
    .map((pattern) => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`));
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

const escapeRegExp = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
