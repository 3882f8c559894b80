// The built executable as a daemon (not `node build/…`, not `node src/…`): run from an untarred
// tarball with no install and no config, it serves, keeps its data under ./data of the directory it
// was started from, and stops cleanly on SIGTERM; the single executable delivers events to a real
// Kafka broker.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { tarballBase, tarballPath } from '../../packaging/steps/tarball';
import { targetByName } from '../../packaging/targets';
import { postEvents, startDaemon } from '../integration/daemon-process';
import { consumeAll } from '../peers/consume';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { DIST_TIMEOUT_MS, ensureDist, ok, tempDir } from './helpers';
import { zeromqRoundTrip } from './zeromq-round-trip';

let ctx: Context;
let kafka: KafkaPeer | undefined;

beforeAll(() => {
  ctx = ensureDist();
}, DIST_TIMEOUT_MS);

afterAll(async () => {
  await kafka?.close();
});

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      // Not yet (connection refused), unless the probe says it is over.
      if ((error as Error).message.startsWith('exited')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the built executable as a daemon', () => {
  it('loads the ZeroMQ addon from the untarred tarball’s lib/sparkngin/ and delivers to PULL and SUB peers', async () => {
    const dir = tempDir('untar-zeromq');
    ok('tar', ['-xzf', tarballPath(ctx, targetByName('linux-x64')), '-C', dir]);
    await zeromqRoundTrip(join(dir, tarballBase(ctx, targetByName('linux-x64')), 'bin/sparkngin'));
  }, 60_000);

  it('runs from an untarred tarball with no install: serves, writes under ./data, stops on SIGTERM', async () => {
    const dir = tempDir('untar-run');
    ok('tar', ['-xzf', tarballPath(ctx, targetByName('linux-x64')), '-C', dir]);
    const top = join(dir, tarballBase(ctx, targetByName('linux-x64')));
    const port = await freePort();
    const proc = spawn(join(top, 'bin/sparkngin'), ['start', '--config', 'etc/sparkngin.yaml', '--port', String(port)], { cwd: top, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await until('/health', async () => {
        if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${log}`);
        return (await fetch(`${url}/health`)).ok ? true : undefined;
      });
      const answer = await postEvents(url, 'untarred', [{ hello: 'tarball' }]);
      expect(answer.status).toBe(202);
      // The documented rule: the data directory is ./data of the directory it was started from.
      expect(existsSync(join(top, 'data'))).toBe(true);
      const out = await until('the file sink output', () => {
        const file = join(top, 'data/out/untarred.ndjson');
        return existsSync(file) && readFileSync(file, 'utf8').includes('tarball') ? file : undefined;
      });
      expect(readFileSync(out, 'utf8')).toContain('hello');
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);

  it('delivers events to a real Kafka broker, ingest on two threads (both started from the executable\'s own script)', async () => {
    kafka = await startKafka({ version: '4' });
    const daemon = await startDaemon({
      executable: names.binary(ctx, targetByName('linux-x64')),
      config: { http: { threads: 2 }, sinks: { file: { enabled: false }, kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 } } } },
    });
    try {
      await until('both ingest threads listening', async () => (((await (await fetch(`${daemon.url}/stats`)).json()) as any).ingest.threads?.length === 2 ? true : undefined));
      const events = Array.from({ length: 200 }, (_, n) => ({ n, from: 'single executable' }));
      for (let i = 0; i < events.length; i += 50) {
        const answer = await postEvents(daemon.url, 'dist-binary', events.slice(i, i + 50));
        expect(answer.status).toBe(202);
      }
      const messages = await consumeAll(kafka.brokers, 'dist-binary', { expected: events.length, timeoutMs: 60_000 });
      const seen = new Set(messages.map((message) => (JSON.parse(message.value.toString()) as { n: number }).n));
      expect(events.filter((event) => !seen.has(event.n))).toEqual([]);
      expect(await daemon.stop()).toBe(0);
    } finally {
      await daemon.close();
    }
  }, 150_000);
});
