// "Did you mean …?" for names a user typed: commands, setting keys, SPARKNGIN_* variables.
import { distance } from 'fastest-levenshtein';

/**
 * The candidate `word` most plausibly meant, if any. With a `separator` (`.` in keys, `_` in
 * variable names), a candidate holding every part of the word in order and ending with the same
 * part is a match: `port` for `listen.port`, `sinks.kafka.maxBytes` for `sinks.kafka.batch.maxBytes`,
 * `KAFKA_BROKERS` for `SINKS_KAFKA_BROKERS`. Otherwise the closest by edit distance
 * (case-insensitive), when at most a third of the last part is changed (at least 2 edits): a
 * far-fetched guess would mislead more than no guess.
 */
export function nearest(word: string, candidates: Iterable<string>, separator?: string): string | undefined {
  const typed = word.toLowerCase();
  const parts = separator === undefined ? [typed] : typed.split(separator);
  const allowed = Math.max(2, Math.floor(parts[parts.length - 1]!.length / 3));
  let best: string | undefined;
  let bestScore = allowed + 1;
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    let score = distance(typed, known);
    if (separator !== undefined && score > 1 && partsWithin(parts, known.split(separator))) score = 1;
    if (score < bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Every one of `parts` in `whole` in order, the last ones equal. */
function partsWithin(parts: readonly string[], whole: readonly string[]): boolean {
  if (parts[parts.length - 1] !== whole[whole.length - 1]) return false;
  let at = 0;
  for (const part of whole) if (part === parts[at]) at++;
  return at === parts.length;
}
