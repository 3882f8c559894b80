import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults';
import { type Envelope, newEventId } from '../../src/envelope/envelope';
import { FileSink } from '../../src/sinks/file/sink';
import { tempDir } from './spool-helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const event = (topic: string, n: number): Envelope => ({
  id: newEventId(),
  topic,
  ts: 1_700_000_000_000 + n,
  ip: '::1',
  host: 'h',
  headers: {},
  type: 'json',
  data: Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(100) })),
});

describe('file sink', () => {
  it('writes one NDJSON file per topic and rotates past rotateBytes, keeping keepFiles', async () => {
    const temp = await tempDir('sparkngin-file-');
    cleanups.push(temp.remove);
    const sink = new FileSink({ ...defaultConfig().sinks.file, dir: temp.dir, rotateBytes: 2000, keepFiles: 2 });
    await sink.start();
    for (let n = 0; n < 60; n++) await sink.send([event('a', n), event('b', n)]);
    await sink.stop();
    const files = (await readdir(temp.dir)).sort();
    expect(files).toEqual(['a.ndjson', 'a.ndjson.1', 'a.ndjson.2', 'b.ndjson', 'b.ndjson.1', 'b.ndjson.2']);
    const newest = (await readFile(join(temp.dir, 'a.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(newest.at(-1).data.n).toBe(59);
    const older = (await readFile(join(temp.dir, 'a.ndjson.1'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(older.at(-1).data.n).toBe(newest[0].data.n - 1); // rotation loses no line in between
    expect(sink.health()).toEqual({ state: 'up' });
  });
});
