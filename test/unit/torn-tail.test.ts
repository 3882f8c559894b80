// A line file is cut back to its last newline before anything is appended to it, so that the
// fragment a crash left at its end never glues onto the next line (src/sinks/torn-tail.ts). The
// file sink and the dead-letter file use it when they first open a file: tested with each, on
// files shaped as a kill -9 mid-write leaves them (the chaos kill loop found the file sink's case).
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults';
import { type Envelope, newEventId, newHeaders } from '../../src/envelope/envelope';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { FileSink } from '../../src/sinks/file/sink';
import { cutTornTail } from '../../src/sinks/torn-tail';
import { capturingLogger, tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function scratch(): Promise<string> {
  const temp = await tempDir('sparkngin-torn-');
  cleanups.push(temp.remove);
  return temp.dir;
}

/** Writes `text`, cuts its torn tail, and gives back the bytes cut and what the file holds after. */
async function cut(dir: string, text: string): Promise<{ bytes: number; left: string }> {
  const path = join(dir, 'lines.ndjson');
  await writeFile(path, text);
  const handle = await open(path, 'r+');
  try {
    const bytes = await cutTornTail(handle, (await handle.stat()).size);
    return { bytes, left: await readFile(path, 'utf8') };
  } finally {
    await handle.close();
  }
}

const envelope = (topic: string, n: number): Envelope => ({ id: newEventId(), topic, ts: 1_700_000_000_000 + n, ip: '::1', host: 'h', headers: newHeaders(), type: 'json', data: Buffer.from(JSON.stringify({ n })) });
const parsed = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('cutting a torn last line', () => {
  it('leaves a file that ends with a newline (or is empty) as it is', async () => {
    const dir = await scratch();
    expect(await cut(dir, '{"a":1}\n{"b":2}\n')).toEqual({ bytes: 0, left: '{"a":1}\n{"b":2}\n' });
    expect(await cut(dir, '')).toEqual({ bytes: 0, left: '' });
  });

  it('cuts back to the last newline, and to nothing when there is none', async () => {
    const dir = await scratch();
    expect(await cut(dir, '{"a":1}\n{"b":')).toEqual({ bytes: 5, left: '{"a":1}\n' });
    expect(await cut(dir, '{"only":"part')).toEqual({ bytes: 13, left: '' });
  });

  it('finds the newline behind a fragment longer than one read step (64 KiB)', async () => {
    const dir = await scratch();
    const fragment = `{"pad":"${'x'.repeat(200_000)}`;
    expect(await cut(dir, `{"a":1}\n${fragment}`)).toEqual({ bytes: fragment.length, left: '{"a":1}\n' });
  });

  it('keeps exactly the whole lines before any fragment (property)', async () => {
    const dir = await scratch();
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '"', ' ', '😀'), maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 6 }), line, async (lines, fragment) => {
        const whole = lines.map((text) => `${text}\n`).join('');
        const { bytes, left } = await cut(dir, whole + fragment);
        expect(left).toBe(whole);
        expect(bytes).toBe(Buffer.byteLength(fragment));
      }),
      { numRuns: 60 },
    );
  });
});

describe('the line files of the sinks after a crash mid-write', () => {
  it('the file sink cuts the fragment before appending, logs it, and every line parses', async () => {
    const dir = await scratch();
    const fragment = '{"id":"0190-cut-short","topic":"cli';
    await writeFile(join(dir, 'clicks.ndjson'), `${JSON.stringify({ before: 1 })}\n${fragment}`);
    const { logger, lines: logged } = capturingLogger();
    const sink = new FileSink({ ...defaultConfig().sinks.file, dir }, logger);
    cleanups.push(() => sink.stop());
    await sink.start();
    await sink.send([envelope('clicks', 1), envelope('clicks', 2)]);
    const lines = await parsed(join(dir, 'clicks.ndjson'));
    expect(lines.map((line) => line.before ?? line.data.n)).toEqual([1, 1, 2]);
    expect(logged.find((line) => line.event === 'file_sink.torn_tail_cut')).toMatchObject({ level: 'warn', file: join(dir, 'clicks.ndjson'), bytes: fragment.length });
  });

  it('the dead-letter file cuts the fragment before the first park, logs it, and every line parses', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'dead-letter'));
    const { logger, lines: logged } = capturingLogger();
    const file = new DeadLetterFile(join(dir, 'dead-letter'), 'kafka', { maxBytes: 0, maxAgeSeconds: 0 }, logger);
    await writeFile(file.path, `${JSON.stringify({ parked: 0 })}\n{"time":"2026-12-02T07:00:00.000Z","code":"MESS`);
    await file.park(envelope('refused', 1), { code: 'MESSAGE_TOO_LARGE', message: 'too large' });
    const lines = await parsed(file.path);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ code: 'MESSAGE_TOO_LARGE', event: { topic: 'refused' } });
    expect(logged.find((line) => line.event === 'dead_letter.torn_tail_cut')).toMatchObject({ level: 'warn', file: file.path });
  });
});
