// The client's local disk spill: where events go while no instance can take them, so that an outage
// of every instance costs the application nothing, and a restart of the application neither. Built
// on the project's spool (src/spool/queue.ts): the same records, CRCs, group commit and recovery, so
// an event is spilled once its append resolved (fdatasync'd), and `sparkngin spool verify|info`
// and `sparkngin drain` work on a spill as on a daemon's spool.
//
// Layout of spill.dir:
//   .lock        the data-dir lock (src/daemon/data-dir-lock.ts): one client per spill dir
//   ack-spool/   a spool of events sent with ack=spool   (segments/, cursors/client.json, manifest.json)
//   ack-sink/    a spool of events sent with ack=sink    (each delivered later with its own ack mode)
//   rejected.ndjson  spilled events an instance later refused for good (JSON envelopes, one a line)
// Records are binary envelopes (src/envelope/codec-binary.ts) exactly as sent: their ids are kept.
import { appendFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DataDirLock, lockDataDir } from '../daemon/data-dir-lock';
import { envelopeToJson } from '../envelope/codec-json';
import { decodeEnvelope } from '../envelope/codec-binary';
import type { Logger } from '../ops/log';
import { backlog, openQueue, type Queue } from '../spool/queue';
import type { AckMode, ClientLogger } from './options';

const ACKS: readonly AckMode[] = ['spool', 'sink'];
const folder = (ack: AckMode) => `ack-${ack}`;
export const SPILL_READER = 'client';

export interface SpillChunk {
  /** The binary envelopes, in spill order. */
  records: Buffer[];
  /** Commit this once every record is acknowledged. */
  nextSeq: number;
}

export class Spill {
  private readonly queues = new Map<AckMode, Promise<Queue>>();
  private readonly logger: Logger;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly lock: DataDirLock,
    clientLogger: ClientLogger,
  ) {
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (event, fields) => clientLogger.warn(event, fields),
      error: (event, fields) => clientLogger.error(event, fields),
      child: () => logger,
      // The daemon counts its warnings for /metrics; a client has no such view.
      eventCounts: () => [],
    };
    this.logger = logger;
  }

  /** Locks the dir (refused if another client holds it) and opens the spools that hold something from an earlier run. */
  static async open(dir: string, maxBytes: number, logger: ClientLogger): Promise<Spill> {
    const lock = await lockDataDir(dir);
    const spill = new Spill(dir, maxBytes, lock, logger);
    try {
      for (const ack of ACKS) if (await spill.exists(ack)) await spill.queue(ack);
    } catch (error) {
      await spill.close();
      throw error;
    }
    return spill;
  }

  private exists(ack: AckMode): Promise<boolean> {
    return stat(join(this.dir, folder(ack), 'segments')).then(
      () => true,
      () => false,
    );
  }

  /** The spool of `ack`, opened on first use. */
  private queue(ack: AckMode): Promise<Queue> {
    let queue = this.queues.get(ack);
    if (queue === undefined) {
      queue = openQueue(join(this.dir, folder(ack)), SPILL_READER, { maxBytes: this.maxBytes, logger: this.logger });
      this.queues.set(ack, queue);
    }
    return queue;
  }

  /** Writes encoded envelopes; resolves once they are synced to disk. Rejects SpoolFullError at spill.maxBytes. */
  async append(ack: AckMode, records: Buffer[]): Promise<void> {
    await (await this.queue(ack)).spool.append(records);
  }

  /** Ack modes whose spool is open (has held something in this or an earlier run). */
  openModes(): AckMode[] {
    return ACKS.filter((ack) => this.queues.has(ack));
  }

  /** Waits for spilled records of `ack` and returns up to `maxRecords` of them; undefined once closed. */
  async read(ack: AckMode, maxRecords: number, maxBytes: number): Promise<SpillChunk | undefined> {
    const { reader } = await this.queue(ack);
    const records = await reader.read(maxRecords, maxBytes);
    if (records.length === 0) return undefined;
    return { records: records.map((record) => record.payload), nextSeq: records.at(-1)!.seq + 1 };
  }

  /** Every record before `nextSeq` was acknowledged by an instance (or set aside): the spool may let go of it. */
  commit(ack: AckMode, nextSeq: number): void {
    const queue = this.queues.get(ack);
    if (queue === undefined || this.closed) return;
    void queue.then(({ reader }) => reader.commit(nextSeq));
  }

  /** Spilled records not yet delivered, per ack mode. */
  async backlog(): Promise<Record<AckMode, number>> {
    const counts = { spool: 0, sink: 0 };
    for (const ack of this.openModes()) counts[ack] = backlog(await this.queue(ack));
    return counts;
  }

  /** A spilled event an instance refused for good: logged and kept beside the spill, never silently dropped. */
  async setAside(record: Buffer, why: string): Promise<void> {
    let line: string;
    try {
      line = envelopeToJson(decodeEnvelope(record));
    } catch {
      line = JSON.stringify({ undecodable: record.toString('base64') });
    }
    this.logger.error('client.spill_refused', { why, file: join(this.dir, 'rejected.ndjson') });
    await appendFile(join(this.dir, 'rejected.ndjson'), `${line}\n`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const queues = await Promise.allSettled(this.queues.values());
    await Promise.all(queues.map((queue) => (queue.status === 'fulfilled' ? queue.value.spool.close() : undefined)));
    await this.lock.release();
  }
}
