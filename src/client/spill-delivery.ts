// Delivering the disk spill: records read back a chunk at a time, cut into batches per topic (a
// request is one topic), handed to the client's queue like any batch (so they share maxInFlight,
// failover and backoff, but are never spilled again), and the chunk committed only once every record
// of it is acknowledged, or refused for good and set aside (spill.ts). A chunk in hand when the
// client closes is not committed: the next client on the dir sends it again (same ids).
import { decodeEnvelope } from '../envelope/codec-binary';
import { Batch, type BatchOwner } from './batch';
import { ClientClosedError } from './errors';
import type { AckMode } from './options';
import type { Spill } from './spill';

export interface SpillDeliveryHost {
  spill: Spill;
  batch: { maxEvents: number; maxBytes: number };
  /** Batches' worth of records read at a time. */
  chunks: number;
  /** Aborted when the client closes. */
  stopped: AbortSignal;
  /** Queues batches for sending. */
  send(batches: Batch[]): void;
  /** Spilled events were acknowledged. */
  delivered(count: number): void;
}

/** Runs until the client closes (or the spill does). */
export async function deliverSpill(ack: AckMode, host: SpillDeliveryHost): Promise<void> {
  const { spill, batch, chunks, stopped } = host;
  while (!stopped.aborted) {
    const chunk = await spill.read(ack, batch.maxEvents * chunks, batch.maxBytes * chunks);
    // Read as close() began: left in the spill for the next run.
    if (chunk === undefined || stopped.aborted) return;
    if (!(await deliverChunk(ack, chunk.records, host))) return;
    spill.commit(ack, chunk.nextSeq);
  }
}

/** True once every record is acknowledged (or set aside); false when the client closed first. */
function deliverChunk(ack: AckMode, records: Buffer[], host: SpillDeliveryHost): Promise<boolean> {
  const { spill, batch: limits } = host;
  return new Promise((resolve) => {
    let left = records.length;
    let abandoned = false;
    const done = (count: number) => {
      left -= count;
      if (left === 0) resolve(!abandoned);
    };
    const setAside = (record: Buffer, why: string) => void spill.setAside(record, why).finally(() => done(1));
    const owner: BatchOwner = {
      acked: (batch) => {
        host.delivered(batch.count);
        done(batch.count);
      },
      spilled: (batch) => done(batch.count),
      failed: (batch, error) => {
        if (error instanceof ClientClosedError) abandoned = true;
        if (abandoned) return done(batch.count);
        for (const record of batch.envelopes()) setAside(record, error.message);
      },
    };
    const open = new Map<string, Batch>();
    const full: Batch[] = [];
    for (const record of records) {
      let topic: string;
      try {
        topic = decodeEnvelope(record).topic;
      } catch (error) {
        setAside(record, (error as Error).message);
        continue;
      }
      let batch = open.get(topic);
      if (batch === undefined || batch.count >= limits.maxEvents || batch.size + record.length > limits.maxBytes) {
        if (batch !== undefined) full.push(batch);
        batch = new Batch(topic, ack, owner, true, -1);
        open.set(topic, batch);
      }
      batch.commit(batch.writeFrame(record));
    }
    host.send([...full, ...open.values()]);
  });
}
