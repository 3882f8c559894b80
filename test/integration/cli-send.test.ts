// `sparkngin send` as a user runs it: the built command against a real daemon process. A file of a
// million lines is sent and counted; the daemon stopped midway makes it exit 1 naming how many
// events were not acknowledged; each input format and the event options reach the stored events.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

const LINES = 1_000_000;
let dir: string;
let million: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-send-'));
  million = join(dir, 'million.ndjson');
  const out = createWriteStream(million);
  for (let n = 0; n < LINES; n += 10_000) {
    let chunk = '';
    for (let i = n; i < n + 10_000; i++) chunk += `{"n":${i},"page":"/home"}\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stderr: string;
}

function send(args: string[], stdin?: string): Promise<Run> {
  const child = spawn(process.execPath, [BUNDLE, 'send', ...args], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, SPARKNGIN_URL: undefined } });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(stdin ?? '');
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

const spooled = async (daemon: DaemonProcess): Promise<number> => ((await (await fetch(`${daemon.url}/stats`)).json()) as { spool: { appendedRecords: number } }).spool.appendedRecords;

describe('sparkngin send', () => {
  it('sends a file of a million lines, reports the count and exits 0', async () => {
    const daemon = await startDaemon({ config: { sinks: { file: { enabled: false } } } });
    try {
      const run = await send(['counted', million, '--url', daemon.url]);
      expect(run.stderr).toContain(`${LINES} events sent to counted, all acknowledged`);
      expect(run.status).toBe(0);
      expect(await spooled(daemon)).toBeGreaterThanOrEqual(LINES);
    } finally {
      await daemon.close();
    }
  }, 300_000);

  it('exits 1 naming how many events were not acknowledged when the daemon stops midway', async () => {
    const daemon = await startDaemon({ config: { sinks: { file: { enabled: false } } } });
    try {
      const running = send(['stopped', million, '--url', daemon.url, '--timeout', '3']);
      // Stopped once the first batches are in: most of the million lines are still to send then.
      await until(async () => (await spooled(daemon)) > 0, 'the first events are spooled', 240_000);
      await daemon.stop();
      const run = await running;
      expect(run.status).toBe(1);
      const counts = /(\d+) of (\d+) events were NOT acknowledged \((\d+) were/.exec(run.stderr);
      expect(counts, run.stderr).not.toBeNull();
      const [notAcked, read, acked] = counts!.slice(1).map(Number) as [number, number, number];
      expect(read).toBe(LINES);
      expect(notAcked + acked).toBe(LINES);
      expect(notAcked).toBeGreaterThan(0);
      // Every event it counted as acknowledged is in the spool the daemon left.
      const stopped = JSON.parse(daemon.logs().split('\n').find((line) => line.includes('"daemon.stopped"'))!) as { spooledRecords: number };
      expect(acked).toBeLessThanOrEqual(stopped.spooledRecords);
    } finally {
      await daemon.close();
    }
  }, 300_000);

  it('reads each format, and sets key and headers on every event', async () => {
    const daemon = await startDaemon();
    try {
      const base = ['--url', daemon.url, '--key', 'k1', '--header', 'Origin=cli', '--header', 'team=a=b'];
      expect((await send(['lines', '-', ...base], '{"a":1}\r\nplain text\n\n[1,2]\n')).status).toBe(0);
      await writeFile(join(dir, 'array.json'), '[\n  {"a": 1},\n  {"b": [1, 2]}\n]\n');
      expect((await send(['array', join(dir, 'array.json'), '--format', 'json', ...base])).status).toBe(0);
      expect((await send(['blob', '-', '--format', 'binary', ...base], 'two\nlines')).status).toBe(0);
      expect((await send(['texts', '-', '--format', 'text', ...base], '{"looks":"like json"}\nsecond\n')).status).toBe(0);
      const bad = await send(['strict', '-', '--format', 'ndjson', ...base], '{"ok":1}\nnot json\n{"ok":2}\n');
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/1 of 3 events were NOT acknowledged \(2 were\); MALFORMED_JSON: line 2 is not JSON/);

      const read = async (topic: string, count: number) => {
        const file = join(daemon.dataDir, 'out', `${topic}.ndjson`);
        await until(async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= count, `${topic} is written`);
        return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { key: string; headers: Record<string, string>; type: string; data: unknown });
      };
      const lines = await read('lines', 3);
      expect(lines.map((event) => [event.type, event.data])).toEqual([['json', { a: 1 }], ['text', 'plain text'], ['json', [1, 2]]]);
      expect(lines.every((event) => event.key === 'k1' && event.headers.origin === 'cli' && event.headers.team === 'a=b')).toBe(true);
      expect((await read('array', 2)).map((event) => event.data)).toEqual([{ a: 1 }, { b: [1, 2] }]);
      expect((await read('blob', 1)).map((event) => [event.type, Buffer.from(event.data as string, 'base64').toString()])).toEqual([['binary', 'two\nlines']]);
      expect((await read('texts', 2)).map((event) => [event.type, event.data])).toEqual([['text', '{"looks":"like json"}'], ['text', 'second']]);
      expect((await read('strict', 2)).map((event) => event.data)).toEqual([{ ok: 1 }, { ok: 2 }]);
    } finally {
      await daemon.close();
    }
  });

  // Without --url it looks on the LAN: that is tested inside network namespaces (client-discovery.test.ts),
  // never here, where mDNS would go out on the machine's own network.
  it('refuses a bad command line (exit 2)', async () => {
    const usage = await send(['t', '-', '--format', 'xml']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--format must be one of lines, ndjson, json, text, binary, got 'xml'");
  });
});
