// The main thread's supervision of the ingest threads (src/ingest/threads/pool.ts), with threads that
// misbehave on purpose (scripts written here: a real ingest thread cannot be made to fail from
// outside): one that cannot listen, or dies before it listens, fails the start; one that
// dies after listening is reported (the daemon then logs ingest.thread_died and exits 1); one that
// ends during a stop is not.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults';
import { IngestThreads, type RecordsTarget } from '../../src/ingest/threads/pool';
import { silentLogger } from '../../src/ops/log';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-threads-pool-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A thread script: `body` runs with `port` (parentPort) in scope. */
async function script(name: string, body: string): Promise<string> {
  const file = join(dir, `${name}.cjs`);
  await writeFile(file, `const { parentPort: port } = require('node:worker_threads');\n${body}\n`);
  return file;
}

const target: RecordsTarget = { acceptRecords: () => Promise.resolve(undefined), notReadyReasons: () => [] };

function start(file: string, threads: number, onDied: (error: unknown) => void = () => undefined, records: RecordsTarget = target): Promise<IngestThreads> {
  const config = defaultConfig();
  config.http.threads = threads;
  return IngestThreads.start({ config, listen: { host: '127.0.0.1', port: 0 }, eventsOnly: false, target: records, ops: { stats: () => ({}), metrics: () => '' }, logger: silentLogger, onDied, script: file }, config);
}

describe('ingest thread supervision', () => {
  it('fails the start when a thread cannot listen, with its error', async () => {
    const file = await script('no-listen', `port.postMessage({ type: 'failed', error: { kind: 'other', message: 'listen EADDRINUSE: address already in use' } });`);
    await expect(start(file, 3)).rejects.toThrow('listen EADDRINUSE');
  });

  it('fails the start when a thread dies before it listens', async () => {
    const file = await script('crash-early', `throw new Error('broken at start');`);
    await expect(start(file, 2)).rejects.toThrow('broken at start');
  });

  it('reports a thread that dies after it listened, with its error', async () => {
    const file = await script('crash-later', `port.postMessage({ type: 'listening' }); setTimeout(() => { throw new Error('uncaught in the thread'); }, 50);`);
    let died: unknown;
    const pool = await start(file, 2, (error) => (died = error));
    await expect.poll(() => (died as Error | undefined)?.message, { timeout: 10_000 }).toBe('uncaught in the thread');
    await pool.terminate();
  });

  it("stops waiting for the sinks of a dead thread's ack=sink requests", async () => {
    const file = await script(
      'dies-waiting',
      `port.postMessage({ type: 'listening' }); port.postMessage({ type: 'accept', id: 1, bytes: new Uint8Array(4), lengths: [4], ack: 'sink', topics: ['t'], positions: false, stored: false }); setTimeout(() => { throw new Error('gone'); }, 50);`,
    );
    const signals: AbortSignal[] = [];
    const waiting: RecordsTarget = { acceptRecords: (_records, _topics, _ack, options) => (signals.push(options.signal!), new Promise(() => undefined)), notReadyReasons: () => [] };
    let died: unknown;
    const pool = await start(file, 2, (error) => (died = error), waiting);
    await expect.poll(() => (died as Error | undefined)?.message, { timeout: 10_000 }).toBe('gone');
    expect(signals.map((signal) => (signal.reason as { code?: string } | undefined)?.code)).toEqual(['CLIENT_CLOSED']);
    await pool.terminate();
  });

  it('does not report threads that end because they were asked to stop', async () => {
    const file = await script('polite', `port.postMessage({ type: 'listening' }); port.on('message', (m) => { if (m.type === 'stop') { port.postMessage({ type: 'stopped', report: { accepted: { accepted: { requests: 0, events: 0 } }, refused: [], load: { connections: 0, requestsInFlight: 0, bufferedBytes: 0 } } }); port.close(); } });`);
    let died: unknown;
    const pool = await start(file, 3, (error) => (died = error));
    await pool.stop(1_000);
    expect(died).toBeUndefined();
  });

  it('refreshes the numbers one round at a time: questions asked meanwhile share the next round, which asks after them', async () => {
    // Reports, as acceptedRequests, how many reports it was asked for so far.
    const file = await script('counting', `let asked = 0; port.postMessage({ type: 'listening' }); port.on('message', (m) => { if (m.type === 'report') { asked++; port.postMessage({ type: 'report', report: { accepted: { accepted: { requests: asked, events: 0 }, requestSeconds: { bounds: [], counts: [], count: 0, sum: 0 }, eventsPerRequest: { bounds: [], counts: [], count: 0, sum: 0 } }, refused: [], load: { connections: 0, requestsInFlight: 0, bufferedBytes: 0 } } }); } });`);
    const pool = await start(file, 2);
    const own = { accepted: { requests: 0, events: 0 }, requestSeconds: { bounds: [], counts: [], count: 0, sum: 0 }, eventsPerRequest: { bounds: [], counts: [], count: 0, sum: 0 }, refused: [], connections: 0, requestsInFlight: 0, bufferedBytes: 0 } as never;
    const threadAsked = () => pool.withThreads(own).threads![1]!.acceptedRequests;
    const first = pool.refresh();
    const seen: number[] = [];
    const meanwhile = Array.from({ length: 50 }, () => pool.refresh().then(() => seen.push(threadAsked())));
    await first;
    expect(threadAsked()).toBe(1);
    await Promise.all(meanwhile);
    // All 50 answered from the second report, asked for after them; no third was asked for.
    expect(seen).toEqual(Array(50).fill(2));
    await pool.refresh();
    expect(threadAsked()).toBe(3);
    await pool.terminate();
  });
});
