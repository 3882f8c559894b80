// "Did you mean …?" for names a user typed: commands, setting keys, SPARKNGIN_* variables.
import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to be
 * a plausible typo: at most a third of the word's length changed (and at least 2 edits allowed).
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  const typed = word.toLowerCase();
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const d = distance(typed, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}
