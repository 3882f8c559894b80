// A set of sequence numbers kept as sorted, disjoint, inclusive ranges: the records known to be lost,
// so that a loss met by several sinks, or found at start and again by a reader, is counted once.
export interface SeqRange {
  from: number;
  to: number;
}

export class SeqRanges {
  private ranges: SeqRange[] = [];

  /** Adds [from, to]; returns the parts that were not in the set yet (empty if all were). */
  add(from: number, to: number): SeqRange[] {
    if (to < from) return [];
    const fresh: SeqRange[] = [];
    let at = from;
    const kept: SeqRange[] = [];
    let merged: SeqRange = { from, to };
    for (const range of this.ranges) {
      if (range.to < from - 1 || range.from > to + 1) {
        kept.push(range);
        continue;
      }
      // Overlapping or adjacent: what lies between `at` and this range is new.
      if (range.from > at) fresh.push({ from: at, to: Math.min(to, range.from - 1) });
      at = Math.max(at, range.to + 1);
      merged = { from: Math.min(merged.from, range.from), to: Math.max(merged.to, range.to) };
    }
    if (at <= to) fresh.push({ from: at, to });
    kept.push(merged);
    kept.sort((a, b) => a.from - b.from);
    this.ranges = kept;
    return fresh;
  }

  /** True if any of [from, to] is in the set. */
  overlaps(from: number, to: number): boolean {
    return this.ranges.some((range) => range.from <= to && range.to >= from);
  }

  /** Forgets everything below `seq` (the spool no longer holds it, nobody can meet it again). */
  dropBelow(seq: number): void {
    this.ranges = this.ranges.filter((range) => range.to >= seq).map((range) => (range.from < seq ? { from: seq, to: range.to } : range));
  }

  list(): readonly SeqRange[] {
    return this.ranges;
  }
}
