// What an ingest thread (src/ingest/threads/thread.ts, the real one from the bundle) hands the main
// thread while the main thread does not answer (busy: its stand-in here is a target that holds every
// request until told). Clients that send a request and hang up at once get their memory share back
// (budget.ts); the records they sent must not pile up on the main thread for it: past the thread's
// share of http.maxBufferedBytes the thread answers 503 INGEST_BUSY, and takes requests again once
// the main thread stored what it held. Each request's records reach the main thread in a buffer of
// their own, not a view of Node's 8 KiB pool (whose whole slab a message would copy). Likewise the
// questions to the operations endpoints a thread forwards: at most 64 wait (503 OPS_BUSY beyond).
// A thread's /ready says what the main thread's does from its first request.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults';
import type { OpsEndpoints } from '../../src/ingest/context';
import { threadConfig } from '../../src/ingest/threads/config';
import { IngestThreads, type RecordsTarget } from '../../src/ingest/threads/pool';
import { silentLogger } from '../../src/ops/log';
import { freePort } from '../peers/ports';
import { until } from '../wait';
import { BUNDLE } from './daemon-process';

/** The thread's share: http.maxBufferedBytes 64 KiB over 2 threads. */
const SHARE = 32 * 1024;
const BODY = JSON.stringify({ pad: 'x'.repeat(1_000) });

/** One ingest thread of the bundle (http.threads 2) listening on a port of its own; its main thread is the test: `target` and `ops`. */
async function startThread(target: RecordsTarget, ops: OpsEndpoints, maxBufferedBytes?: number): Promise<{ pool: IngestThreads; port: number }> {
  const port = await freePort();
  const config = defaultConfig();
  config.http.threads = 2;
  if (maxBufferedBytes !== undefined) config.http.maxBufferedBytes = maxBufferedBytes;
  const pool = await IngestThreads.start(
    { config, listen: { host: '127.0.0.1', port }, eventsOnly: false, target, ops, logger: silentLogger, onDied: () => undefined, script: BUNDLE },
    threadConfig(config, config.http.maxConnections),
  );
  return { pool, port };
}

/**
 * Sends `request` on a connection of its own and resolves with `reached` once `arrived()` says the
 * main thread has it (the connection still open, for the caller to cut), else with the answer's
 * status line and error code.
 */
async function exchange(port: number, request: string, arrived: () => boolean, reached: string): Promise<{ outcome: string; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.write(request);
  await until(() => arrived() || /"code":"\w+"/.test(answer), `${reached}, or answered`);
  return { outcome: arrived() ? reached : `${answer.split('\r\n')[0]} ${/"code":"(\w+)"/.exec(answer)?.[1]}`, socket };
}

interface Held {
  records: Buffer[];
  store(): void;
}

describe('an ingest thread while the main thread does not answer', () => {
  const held: Held[] = [];
  const target: RecordsTarget = {
    acceptRecords: (records) => new Promise((resolve) => held.push({ records, store: () => resolve(undefined) })),
    notReadyReasons: () => [],
  };
  let pool: IngestThreads;
  let port: number;
  beforeAll(async () => {
    ({ pool, port } = await startThread(target, { stats: () => ({}), metrics: () => '' }, 2 * SHARE));
  });
  afterAll(async () => {
    for (const each of held) each.store();
    await pool?.terminate();
  });

  /** Sends one event: 'handed' once the main thread has it (the socket then still open), or the answer. */
  function post(): Promise<{ outcome: string; socket: Socket }> {
    const before = held.length;
    return exchange(port, `POST /v1/topics/handoff HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`, () => held.length > before, 'handed');
  }

  it('holds at most its share for clients that left, answers 503 INGEST_BUSY past it, and takes requests again once they are stored', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { outcome, socket } = await post();
      outcomes.push(outcome);
      // The client leaves before its answer: its memory share is given back on the thread.
      socket.destroy();
    }
    const handed = outcomes.filter((outcome) => outcome === 'handed').length;
    const bytes = held.reduce((sum, each) => sum + each.records.reduce((n, record) => n + record.length, 0), 0);
    // Some handed over, then every later one refused: 20 such requests would hold more than the share.
    expect(handed).toBeGreaterThan(0);
    expect(handed).toBeLessThan(20);
    expect(bytes).toBeLessThanOrEqual(SHARE);
    expect(outcomes).toEqual([...Array(handed).fill('handed'), ...Array(20 - handed).fill('HTTP/1.1 503 Service Unavailable INGEST_BUSY')]);
    // Each request's records crossed alone, not with the 8 KiB pool slab around them.
    for (const { records } of held) expect(records.map((record) => record.buffer.byteLength)).toEqual(records.map((record) => record.length));
    // Stored (the answers reach the thread a moment later): the share is free again.
    for (const each of held.splice(0)) each.store();
    await until(async () => {
      const { outcome, socket } = await post();
      socket.destroy();
      return outcome === 'handed';
    }, 'a request handed over again');
  }, 60_000);
});

describe('an ingest thread whose operations questions the main thread does not answer', () => {
  let asked = 0;
  let pool: IngestThreads;
  let port: number;
  beforeAll(async () => {
    const target: RecordsTarget = { acceptRecords: () => Promise.resolve(undefined), notReadyReasons: () => ['spool full'] };
    ({ pool, port } = await startThread(target, { stats: () => (asked++, new Promise(() => undefined)), metrics: () => '' }));
  });
  afterAll(async () => {
    await pool?.terminate();
  });

  it('answers /ready with the main thread\'s reasons from its start', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/ready`);
    expect([answer.status, await answer.json()]).toEqual([503, { status: 'not ready', reasons: ['spool full'] }]);
  });

  it('forwards at most 64 waiting questions, also of clients that left, and answers the rest 503 OPS_BUSY', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 80; i++) {
      const before = asked;
      const { outcome, socket } = await exchange(port, 'GET /stats HTTP/1.1\r\nhost: x\r\n\r\n', () => asked > before, 'forwarded');
      outcomes.push(outcome);
      socket.destroy();
    }
    expect(outcomes).toEqual([...Array(64).fill('forwarded'), ...Array(16).fill('HTTP/1.1 503 Service Unavailable OPS_BUSY')]);
  }, 60_000);
});
