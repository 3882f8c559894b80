// `sparkngin spool compact` on spools the real daemon wrote: it frees the delivered head (whole
// segments and the delivered records of the segment holding the lowest cursor), loses nothing a sink
// has not had (the daemon started again delivers exactly the rest, and `spool verify` finds no
// damage), changes nothing in a dry run, refuses beside a running daemon, and frees nothing a sink
// without a cursor could still need.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../peers/ports';
import { type DaemonProcess, fileSinkLines, postEvents, runCli, startDaemon } from './daemon-process';

const run = runCli;

const running: DaemonProcess[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.close();
});

/**
 * A stopped daemon whose file sink delivered `count` events, in small segments; with `kafkaDown`, a
 * Kafka sink whose broker never answers holds them all in the spool (its cursor stays at 0).
 */
async function delivered(count: number, kafkaDown?: string): Promise<DaemonProcess> {
  const daemon = await startDaemon({ config: { spool: { segmentBytes: 4096 }, ...(kafkaDown ? { sinks: { kafka: { brokers: [kafkaDown], retry: { initialMs: 100, maxMs: 500 } } } } : {}) } });
  running.push(daemon);
  for (let i = 0; i < count; i += 50) expect((await postEvents(daemon.url, 'events', Array.from({ length: 50 }, (_, j) => ({ n: i + j })), kafkaDown ? '' : '?ack=sink')).status).toBe(202);
  await waitFor(async () => (await deliveredNs(daemon.dataDir)).length >= count);
  expect(await daemon.stop()).toBe(0);
  return daemon;
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) if (await condition()) return;
  throw new Error('timed out waiting');
}

const segmentsOf = async (dataDir: string) => (await readdir(join(dataDir, 'spool', 'segments'))).sort();
const deliveredNs = async (dataDir: string) => (await fileSinkLines(join(dataDir, 'out', 'events.ndjson'))).map((line) => line.data.n as number);
const setCursor = (dataDir: string, sink: string, nextSeq: number) => writeFile(join(dataDir, 'spool', 'cursors', `${sink}.json`), JSON.stringify({ nextSeq }));

describe('sparkngin spool compact', () => {
  it('frees the delivered head, whole segments and part of one, and loses nothing undelivered', async () => {
    const daemon = await delivered(300, `127.0.0.1:${await freePort()}`);
    const before = await segmentsOf(daemon.dataDir);
    expect(before.length).toBeGreaterThan(4);
    // As if Kafka had had the first 130 events: everything from 130 on must survive for it.
    expect(JSON.parse(await readFile(join(daemon.dataDir, 'spool', 'cursors', 'kafka.json'), 'utf8'))).toEqual({ nextSeq: 0 });
    await setCursor(daemon.dataDir, 'kafka', 130);
    const dry = await run('spool', 'compact', daemon.dataDir, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would free/);
    expect(await segmentsOf(daemon.dataDir)).toEqual(before);

    const compacted = await run('spool', 'compact', daemon.dataDir, '--json');
    expect(compacted.code, compacted.stderr).toBe(0);
    const report = JSON.parse(compacted.stdout);
    expect(report).toMatchObject({ deliveredBelow: 130, sinks: [{ sink: 'file', nextSeq: 300 }, { sink: 'kafka', nextSeq: 130 }], cut: { to: '00000000000000000130.seg' } });
    expect(report.deletedSegments.length).toBeGreaterThan(0);
    expect(report.bytesAfter).toBeLessThan(report.bytesBefore);
    const after = await segmentsOf(daemon.dataDir);
    expect(after[0]).toBe('00000000000000000130.seg');
    expect(after.slice(1)).toEqual(before.filter((name) => name > '00000000000000000130.seg'));
    const manifest = JSON.parse(await readFile(join(daemon.dataDir, 'spool', 'manifest.json'), 'utf8'));
    expect(manifest.segments[0]).toBe(130);

    const verify = JSON.parse((await run('spool', 'verify', daemon.dataDir, '--json')).stdout);
    expect(verify).toMatchObject({ records: 170, lostRecords: 0, damage: false, strays: [] });

    // Started again, the daemon finds every record Kafka has not had, nothing lost, nothing set aside.
    await daemon.restart();
    running.push(daemon);
    const stats: any = await (await fetch(`${daemon.url}/stats`)).json();
    expect(stats.spool).toMatchObject({ lostRecords: 0, strayFiles: 0, quarantinedSegments: 0, firstSeq: 130, nextSeq: 300 });
    expect(stats.sinks.find((sink: { sink: string }) => sink.sink === 'kafka')).toMatchObject({ nextSeq: 130, lagRecords: 170 });
    expect((await postEvents(daemon.url, 'events', [{ n: 300 }])).status).toBe(202);
    await waitFor(async () => (await deliveredNs(daemon.dataDir)).length > 300);
    expect(await deliveredNs(daemon.dataDir)).toEqual(Array.from({ length: 301 }, (_, i) => i));
  });

  it('frees everything when every sink has everything, and the numbering goes on', async () => {
    const daemon = await delivered(200);
    const report = JSON.parse((await run('spool', 'compact', daemon.dataDir, '--json')).stdout);
    expect(report).toMatchObject({ deliveredBelow: 200, bytesAfter: 0 });
    expect(await segmentsOf(daemon.dataDir)).toEqual([]);
    await daemon.restart();
    running.push(daemon);
    expect((await postEvents(daemon.url, 'events', [{ n: 200 }], '?ack=sink')).status).toBe(202);
    const stats: any = await (await fetch(`${daemon.url}/stats`)).json();
    expect(stats.spool).toMatchObject({ lostRecords: 0, nextSeq: 201 });
    expect((await deliveredNs(daemon.dataDir)).at(-1)).toBe(200);
  });

  it('frees nothing a sink without a cursor could need, and refuses beside a running daemon', async () => {
    const daemon = await delivered(150);
    // The daemon's configuration names a Kafka sink that never ran here: it would get everything.
    const config = join(daemon.dataDir, '..', `compact-${daemon.port}.yaml`);
    await writeFile(config, stringify({ dataDir: daemon.dataDir, sinks: { kafka: { brokers: ['127.0.0.1:9'] } } }));
    const before = await segmentsOf(daemon.dataDir);
    const held = await run('spool', 'compact', daemon.dataDir, '--config', config);
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toMatch(/^note: sink kafka: no cursor yet: it gets everything spooled$/m);
    expect(held.stdout).toMatch(/^nothing to free$/m);
    expect(await segmentsOf(daemon.dataDir)).toEqual(before);

    await daemon.restart();
    running.push(daemon);
    const refused = await run('spool', 'compact', daemon.dataDir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use by another sparkngin \(pid \d+/);
  });
});
