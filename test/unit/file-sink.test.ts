import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type FileSinkConfig } from '../../src/config/defaults';
import { loadConfig } from '../../src/config/load';
import { type Envelope, newEventId } from '../../src/envelope/envelope';
import { createLogger, silentLogger } from '../../src/ops/log';
import { classifyFileError, TopicFileError } from '../../src/sinks/file/classify';
import { MAX_STEM, stemTopic, topicStem } from '../../src/sinks/file/names';
import { FileSink } from '../../src/sinks/file/sink';
import { encodeEnvelope } from '../../src/envelope/codec-binary';
import { DeadLetterFile } from '../../src/sinks/dead-letter';
import { Dispatcher } from '../../src/sinks/dispatcher';
import { topicFilter } from '../../src/sinks/route';
import { openSpool, tempDir } from './spool-helpers';

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

async function fileSink(overrides: Partial<FileSinkConfig> = {}) {
  const temp = await tempDir('sparkngin-file-');
  cleanups.push(temp.remove);
  const sink = new FileSink({ ...defaultConfig().sinks.file, dir: temp.dir, ...overrides }, silentLogger);
  cleanups.push(() => sink.stop());
  return { sink, dir: temp.dir };
}

const linesOf = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));

/** Descriptors of this process open on files under `dir` (Linux /proc). */
function openUnder(dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const legalTopic = fc.stringMatching(TOPIC).filter((topic) => topic !== '.' && topic !== '..');

describe('file names derived from topics', () => {
  it('keep simple names as they were, escape upper case and a leading dot, hash what is too long', () => {
    expect(topicStem('clicks')).toBe('clicks');
    expect(topicStem('web.page-views_v2')).toBe('web.page-views_v2');
    expect(topicStem('Clicks')).toBe('%43licks');
    expect(topicStem('.hidden')).toBe('%2Ehidden');
    expect(topicStem('..x')).toBe('%2E.x');
    expect(topicStem('...')).toBe('%2E..');
    expect(topicStem('x'.repeat(MAX_STEM))).toBe('x'.repeat(MAX_STEM));
    const long = topicStem('x'.repeat(249));
    expect(long).toMatch(/^x{103}~[0-9a-f]{16}$/);
    expect(topicStem(`${'x'.repeat(248)}y`)).not.toBe(long);
    // An escape is never cut in half by the hashed form's prefix.
    expect(topicStem(`${'x'.repeat(101)}${'A'.repeat(100)}`)).toMatch(/^x{101}~[0-9a-f]{16}$/);
  });

  it('are bounded, decodable when not hashed, and distinct even where case is ignored (property)', () => {
    const caseVariants = fc.tuple(legalTopic, fc.array(fc.nat(), { maxLength: 8 })).map(([topic, flips]) => {
      const variants = [topic];
      for (const flip of flips) {
        const chars = [...variants.at(-1)!];
        const at = flip % chars.length;
        chars[at] = chars[at] === chars[at]!.toUpperCase() ? chars[at]!.toLowerCase() : chars[at]!.toUpperCase();
        variants.push(chars.join(''));
      }
      return [...new Set(variants)];
    });
    fc.assert(
      fc.property(caseVariants, fc.array(legalTopic, { maxLength: 20 }), (variants, others) => {
        const topics = [...new Set([...variants, ...others])];
        const stems = topics.map(topicStem);
        for (const [i, stem] of stems.entries()) {
          expect(stem.length).toBeLessThanOrEqual(MAX_STEM);
          expect(stem).toMatch(/^[a-z0-9._%~A-F-]+$/);
          expect(stem.startsWith('.')).toBe(false);
          const decoded = stemTopic(stem);
          if (decoded !== undefined) expect(decoded).toBe(topics[i]);
        }
        expect(new Set(stems.map((stem) => stem.toLowerCase())).size).toBe(topics.length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('file sink', () => {
  it('writes one NDJSON file per topic and rotates past rotateBytes, keeping keepFiles', async () => {
    const { sink, dir } = await fileSink({ rotateBytes: 2000, keepFiles: 2 });
    await sink.start();
    for (let n = 0; n < 60; n++) await sink.send([event('a', n), event('b', n)]);
    await sink.stop();
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['a.ndjson', 'a.ndjson.1', 'a.ndjson.2', 'b.ndjson', 'b.ndjson.1', 'b.ndjson.2']);
    const newest = await linesOf(join(dir, 'a.ndjson'));
    expect(newest.at(-1).data.n).toBe(59);
    const older = await linesOf(join(dir, 'a.ndjson.1'));
    expect(older.at(-1).data.n).toBe(newest[0].data.n - 1); // rotation loses no line in between
    expect(sink.health()).toEqual({ state: 'up' });
  });

  it('writes 249-character topics, and topics differing only by case, each to a file of its own', async () => {
    const { sink, dir } = await fileSink({ rotateBytes: 1000, keepFiles: 3 });
    await sink.start();
    const long1 = 'L'.repeat(248) + 'a';
    const long2 = 'L'.repeat(248) + 'b';
    const topics = ['clicks', 'Clicks', 'CLICKS', long1, long2, '.hidden', '..x', '...'];
    for (let n = 0; n < 12; n++) await sink.send(topics.map((topic) => event(topic, n)));
    await sink.stop();
    const files = await readdir(dir);
    // Each topic has its files (rotated too), names unique when case is ignored, and every name short.
    expect(new Set(files.map((file) => file.toLowerCase())).size).toBe(files.length);
    expect(Math.max(...files.map((file) => Buffer.byteLength(file)))).toBeLessThanOrEqual(MAX_STEM + '.ndjson.3'.length);
    for (const topic of topics) {
      const lines = [];
      for (const suffix of ['.3', '.2', '.1', '']) {
        const name = `${topicStem(topic)}.ndjson${suffix}`;
        if (files.includes(name)) lines.push(...(await linesOf(join(dir, name))));
      }
      expect(lines.map((line) => line.data.n)).toEqual([...Array(12).keys()]);
      expect(new Set(lines.map((line) => line.topic))).toEqual(new Set([topic]));
    }
    expect(files).toContain('clicks.ndjson');
    expect(files).toContain('%43licks.ndjson');
  });

  it('refuses a maxOpenFiles below 1 at start, naming the key', () => {
    expect(() => loadConfig({ overrides: { 'sinks.file.maxOpenFiles': '0' } })).toThrow(/sinks\.file\.maxOpenFiles: expected at least 1, got 0/);
    expect(loadConfig({ overrides: { 'sinks.file.maxOpenFiles': '1' } }).sinks.file.maxOpenFiles).toBe(1);
  });

  it('holds at most maxOpenFiles files open, and appends correctly to files it closed and opened again', async () => {
    const { sink, dir } = await fileSink({ maxOpenFiles: 8 });
    await sink.start();
    const topics = Array.from({ length: 300 }, (_, i) => `topic-${i}`);
    let most = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < topics.length; i += 30) {
        await sink.send(topics.slice(i, i + 30).map((topic) => event(topic, round)));
        most = Math.max(most, openUnder(dir));
      }
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(8);
    await sink.stop();
    expect(openUnder(dir)).toBe(0);
    for (const topic of ['topic-0', 'topic-151', 'topic-299']) {
      expect((await linesOf(join(dir, `${topic}.ndjson`))).map((line) => line.data.n)).toEqual([0, 1]);
    }
  });

  it('calls an error on one topic that no retry can heal permanent, and full disks or I/O errors retriable', async () => {
    const { sink, dir } = await fileSink();
    await sink.start();
    await mkdir(join(dir, 'blocked.ndjson')); // a directory where the topic's file should be
    const error = await sink.send([event('blocked', 1)]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TopicFileError);
    expect(error).toMatchObject({ code: 'EISDIR', topic: 'blocked' });
    expect(sink.classify(error)).toBe('permanent');
    expect(sink.health()).toEqual({ state: 'up' }); // the other topics go on
    await sink.send([event('fine', 1)]);

    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyFileError(new TopicFileError('t', join(dir, 't.ndjson'), errno('ENAMETOOLONG')))).toBe('permanent');
    expect(classifyFileError(new TopicFileError('t', join(dir, 't.ndjson'), errno('EINVAL')))).toBe('permanent');
    for (const code of ['ENOSPC', 'EIO', 'EACCES', 'EMFILE', 'EROFS', 'EDQUOT']) {
      expect(classifyFileError(new TopicFileError('t', join(dir, 't.ndjson'), errno(code)))).toBe('retriable');
    }
    // Not tied to one topic's file (the output directory itself): never permanent.
    expect(classifyFileError(errno('ENAMETOOLONG'))).toBe('retriable');
  });

  it('with the dispatcher, parks the events of a blocked topic without writing the other topics of the batch twice', async () => {
    const { sink, dir } = await fileSink();
    await sink.start();
    const spoolDir = await tempDir();
    cleanups.push(spoolDir.remove);
    const spool = await openSpool(spoolDir.dir);
    const deadLetters = new DeadLetterFile(join(spoolDir.dir, 'dead-letter'), sink.name);
    const delivery = { topics: ['*'], batch: { maxRecords: 1000, maxBytes: 1 << 20, lingerMs: 0 }, retry: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 } };
    const dispatcher = new Dispatcher(sink, await spool.openReader(sink.name), delivery, topicFilter(['*']), deadLetters, silentLogger);
    cleanups.push(() => spool.close());
    cleanups.push(() => dispatcher.stop(Date.now(), () => true));
    await mkdir(join(dir, 'blocked.ndjson'));
    const topics = ['a', 'blocked', 'b'];
    const { firstSeq, lastSeq } = await spool.append(Array.from({ length: 60 }, (_, n) => encodeEnvelope(event(topics[n % 3]!, n))));
    dispatcher.start();
    await expect(dispatcher.whenDelivered(firstSeq, lastSeq)).rejects.toThrow(/refused an event for good/);
    await expect.poll(() => dispatcher.stats().nextSeq).toBe(60);
    expect((await linesOf(join(dir, 'a.ndjson'))).map((line) => line.data.n)).toEqual([...Array(20).keys()].map((i) => i * 3));
    expect((await linesOf(join(dir, 'b.ndjson'))).map((line) => line.data.n)).toEqual([...Array(20).keys()].map((i) => i * 3 + 2));
    expect((await linesOf(deadLetters.path)).map((line) => line.event.data.n)).toEqual([...Array(20).keys()].map((i) => i * 3 + 1));
  });

  it('makes the output directory again if it is removed while running', async () => {
    const { sink, dir } = await fileSink();
    await sink.start();
    await sink.send([event('a', 1)]);
    await sink.stop();
    await rm(dir, { recursive: true });
    await sink.send([event('a', 2)]);
    expect((await linesOf(join(dir, 'a.ndjson'))).map((line) => line.data.n)).toEqual([2]);
  });

  it('renames files written under the raw topic by earlier versions, so output continues where it was', async () => {
    const { dir } = await fileSink();
    const long = `${'x'.repeat(130)}`;
    const old = ['Clicks.ndjson', 'Clicks.ndjson.1', 'clicks.ndjson', '.hidden.ndjson', `${long}.ndjson`, 'unrelated.txt'];
    for (const name of old) await writeFile(join(dir, name), `${JSON.stringify({ old: name })}\n`);
    const logs: string[] = [];
    const sink = new FileSink({ ...defaultConfig().sinks.file, dir }, createLogger('info', {}, (line) => void logs.push(line)));
    cleanups.push(() => sink.stop());
    await sink.start();
    await sink.send([event('Clicks', 1), event('clicks', 1)]);
    expect((await readdir(dir)).sort()).toEqual(
      ['%43licks.ndjson', '%43licks.ndjson.1', 'clicks.ndjson', '%2Ehidden.ndjson', `${topicStem(long)}.ndjson`, 'unrelated.txt'].sort(),
    );
    expect((await linesOf(join(dir, '%43licks.ndjson'))).map((line) => line.old ?? line.topic)).toEqual(['Clicks.ndjson', 'Clicks']);
    expect((await linesOf(join(dir, 'clicks.ndjson'))).map((line) => line.old ?? line.topic)).toEqual(['clicks.ndjson', 'clicks']);
    expect(logs.filter((line) => line.includes('file_sink.legacy_name_migrated'))).toHaveLength(4);
  });
});
