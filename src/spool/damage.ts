// Every way the spool can lose or skip records, named once: each `note…` writes the log line and
// bumps the counter, so logs, /stats and /metrics never drift apart. Losses are counted once per
// sequence range however many sinks meet them (SeqRanges); what each sink skipped is its reader's.
import { basename } from 'node:path';
import type { Logger } from '../ops/log';
import { SeqRanges } from './seq-ranges';

/** Why records are gone: unreadable bytes inside a segment, no segment holding them, or a segment moved aside. */
export type LossReason = 'damaged' | 'missing' | 'quarantined';

export interface LostRange {
  fromSeq: number;
  toSeq: number;
  reason: LossReason;
  /** Segment file name where the loss was found (where the next intact record or the gap is). */
  file: string;
}

export interface DamageStats {
  /** Records known lost (each counted once), since start. */
  lostRecords: number;
  /** Ranges of lost records found since start. */
  lostRanges: number;
  /** The latest lost ranges (at most RECENT_LOSSES), newest last. */
  recentLosses: LostRange[];
  /** Stretches of bytes that are not intact records (bad CRC, cut short), each counted once. */
  damagedStretches: number;
  /** Segments moved aside to spool/quarantine because they could not be read. */
  quarantinedSegments: number;
  /** Files in the segments folder that are not segments (bad name, directory, unlisted), set aside at start. */
  strayFiles: number;
  /** Sink cursors found past the end of the spool or unreadable, reset to redeliver. */
  cursorResets: number;
}

const RECENT_LOSSES = 20;

export class SpoolDamage {
  private readonly lost = new SeqRanges();
  private readonly quarantined = new SeqRanges();
  private readonly stretches = new Map<string, Set<number>>();
  private readonly counters = { lostRecords: 0, lostRanges: 0, damagedStretches: 0, quarantinedSegments: 0, strayFiles: 0, cursorResets: 0 };
  private readonly recent: LostRange[] = [];

  constructor(private readonly logger: Logger) {}

  /**
   * Records [fromSeq, toSeq] are gone, found at start (no `sink`) or by a sink's reader. A range not
   * known yet is counted and logged as lost; a sink meeting a known loss logs that it skipped it.
   */
  noteLoss(range: { fromSeq: number; toSeq: number; reason: LossReason; file: string; offset?: number; sink?: string }): void {
    const { fromSeq, toSeq, sink, offset } = range;
    const reason = range.reason !== 'damaged' && this.quarantined.overlaps(fromSeq, toSeq) ? 'quarantined' : range.reason;
    const fresh = this.lost.add(fromSeq, toSeq);
    const where = { file: range.file, ...(offset === undefined ? {} : { offset }) };
    if (fresh.length > 0) {
      const records = fresh.reduce((sum, part) => sum + part.to - part.from + 1, 0);
      this.counters.lostRecords += records;
      this.counters.lostRanges++;
      this.recent.push({ fromSeq, toSeq, reason, file: basename(range.file) });
      if (this.recent.length > RECENT_LOSSES) this.recent.shift();
      this.logger.error('spool.records_lost', { fromSeq, toSeq, records, reason, ...where, ...(sink === undefined ? {} : { sink }) });
    } else if (sink !== undefined) {
      this.logger.error('spool.records_skipped', { sink, fromSeq, toSeq, records: toSeq - fromSeq + 1, reason, ...where });
    }
  }

  /** Bytes [from, to) of `file` are not intact records; counted once per place however often read. */
  noteStretch(file: string, from: number, to: number): void {
    let seen = this.stretches.get(file);
    if (seen === undefined) this.stretches.set(file, (seen = new Set()));
    if (seen.has(from)) return;
    seen.add(from);
    this.counters.damagedStretches++;
    this.logger.error('spool.damage_found', { file, from, to, bytes: to - from });
  }

  noteQuarantine(file: string, movedTo: string | undefined, fromSeq: number, toSeq: number, cause: unknown): void {
    this.counters.quarantinedSegments++;
    if (toSeq >= fromSeq) this.quarantined.add(fromSeq, toSeq);
    this.logger.error('spool.segment_quarantined', { file, movedTo: movedTo ?? 'left in place (could not be moved)', fromSeq, toSeq, error: cause });
  }

  noteStray(file: string, why: string, movedTo: string | undefined): void {
    this.counters.strayFiles++;
    this.logger.warn('spool.stray_file', { file, why, movedTo: movedTo ?? 'left in place (could not be moved), ignored' });
  }

  noteCursorReset(sink: string, why: string, resetTo: number, spoolNextSeq: number): void {
    this.counters.cursorResets++;
    this.logger.error('spool.cursor_reset', { sink, why, resetTo, spoolNextSeq, action: 'redelivering everything spooled from resetTo' });
  }

  /** A segment is gone for good (delivered, dropped): forget what was noted about it. */
  forgetBelow(seq: number, file: string): void {
    this.lost.dropBelow(seq);
    this.quarantined.dropBelow(seq);
    this.stretches.delete(file);
  }

  stats(): DamageStats {
    return { ...this.counters, recentLosses: [...this.recent] };
  }
}
