// The spool as a delivery thread sees it: a copy of the segment list and the committed point, kept
// up to date by the ingest thread's SpoolEvents (in the order the spool made them, on one message
// port), so a SpoolReader runs here unchanged. What only the writer may do (retire a segment) and
// what must be counted once across sinks (losses, damaged stretches) goes back as messages.
import type { LossReason } from '../spool/damage';
import { CursorStore } from '../spool/cursor-store';
import type { ReaderSpool } from '../spool/reader';
import type { Retirement, Segment, SpoolEvent } from '../spool/spool';
import type { SpoolSnapshot, ToIngest } from './protocol';

export class SpoolMirror implements ReaderSpool {
  readonly cursors: CursorStore;
  readonly damage: ReaderSpool['damage'];
  private readonly segments: Segment[];
  private nextSeq: number;
  private closed: boolean;
  private readonly waiters = new Set<() => void>();
  private readonly retirements = new Map<number, (done: boolean) => void>();
  private retirementIds = 0;

  constructor(
    snapshot: SpoolSnapshot,
    cursorsDir: string,
    private readonly post: (message: ToIngest) => void,
  ) {
    this.segments = snapshot.segments.map((segment) => ({ ...segment }));
    this.nextSeq = snapshot.nextSeq;
    this.closed = snapshot.closed;
    this.cursors = new CursorStore(cursorsDir);
    this.damage = {
      noteLoss: (range: { fromSeq: number; toSeq: number; reason: LossReason; file: string; offset?: number; sink?: string }) => post({ type: 'loss', range }),
      noteStretch: (file: string, from: number, to: number) => post({ type: 'stretch', file, from, to }),
    };
  }

  /** One change of the spool, as the ingest thread saw it happen. */
  apply(event: SpoolEvent): void {
    switch (event.kind) {
      case 'commit': {
        const active = this.segments.at(-1);
        if (active) active.size = event.size;
        this.nextSeq = event.nextSeq;
        break;
      }
      case 'roll': {
        const previous = this.segments.at(-1);
        if (previous) previous.sealed = true;
        this.segments.push({ firstSeq: event.firstSeq, path: event.path, size: 0, createdMs: event.createdMs, sealed: false });
        break;
      }
      case 'gone': {
        const index = this.segments.findIndex((segment) => segment.firstSeq === event.firstSeq);
        if (index >= 0) this.segments.splice(index, 1)[0]!.gone = true;
        return; // nothing new to read
      }
      case 'closed':
        this.closed = true;
        break;
    }
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** The ingest thread's answer to a `retire`. */
  retired(id: number, done: boolean): void {
    this.retirements.get(id)?.(done);
    this.retirements.delete(id);
  }

  segmentList(): readonly Segment[] {
    return this.segments;
  }

  get committedSeq(): number {
    return this.nextSeq;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  waitForData(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** Asks the writer; its `gone` (and `roll`) events arrive before the answer, on the same port. */
  retire(segment: Segment, how: Retirement, cause: unknown): Promise<boolean> {
    if (segment.gone) return Promise.resolve(true);
    const id = ++this.retirementIds;
    const { message, code } = cause as { message?: string; code?: string };
    this.post({ type: 'retire', id, firstSeq: segment.firstSeq, how, cause: { message: message ?? String(cause), ...(code === undefined ? {} : { code }) } });
    return new Promise((resolve) => this.retirements.set(id, resolve));
  }
}
