// Delivering the disk spill: records read back a chunk at a time, cut into batches per topic (a
// request is one topic), handed to the client's queue like any batch (so they share maxInFlight,
// failover and backoff, but are never spilled again), and the chunk committed only once every record
// of it is acknowledged, or refused for good and set aside (spill.ts). A chunk in hand when the
// client closes is not committed: the next client on the dir sends it again (same ids).
import { decodeEnvelope } from '../envelope/codec-binary';
import { addEvent, type Batch, newBatch } from './batch';
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
  /** One spilled event was acknowledged. */
  delivered(): void;
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
    const done = () => {
      if (--left === 0) resolve(!abandoned);
    };
    const open = new Map<string, Batch>();
    const full: Batch[] = [];
    for (const record of records) {
      let topic: string;
      try {
        topic = decodeEnvelope(record).topic;
      } catch (error) {
        void spill.setAside(record, (error as Error).message).finally(done);
        continue;
      }
      let batch = open.get(topic);
      if (batch === undefined || batch.events.length >= limits.maxEvents || batch.bytes + record.length > limits.maxBytes) {
        if (batch !== undefined) full.push(batch);
        batch = newBatch(topic, ack, true);
        open.set(topic, batch);
      }
      addEvent(batch, {
        id: '',
        bytes: record,
        deadline: Infinity,
        acked: () => {
          host.delivered();
          done();
        },
        spilled: done,
        failed: (error) => {
          if (error instanceof ClientClosedError) abandoned = true;
          if (abandoned) return done();
          void spill.setAside(record, error.message).finally(done);
        },
      });
    }
    host.send([...full, ...open.values()]);
  });
}
