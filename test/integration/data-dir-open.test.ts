// The daemon's opening of its data dir (src/daemon/data-dir.ts): the lock first, then the instance id
// and the spool at the same time, a new sink's cursor written while the spool makes its segment; and
// the real daemon SIGKILLed at every moment of its start, on a fresh dir and on one with records.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultConfig } from '../../src/config/defaults';
import { DataDirInUseError, lockDataDir } from '../../src/daemon/data-dir-lock';
import { openDataDir } from '../../src/daemon/data-dir';
import { INSTANCE_ID_FILE } from '../../src/discovery/instance-id';
import { silentLogger } from '../../src/ops/log';
import { verifySpool } from '../../src/spool/inspect';
import { freePort } from '../peers/ports';
import { BUNDLE, fileSinkLines, postEvents, startDaemon } from './daemon-process';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-open-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function configFor(dataDir: string) {
  return { ...defaultConfig(), dataDir };
}

describe('opening the data dir', () => {
  it('makes the instance id, the spool and each named sink\'s cursor before it resolves; a second opening finds the same', async () => {
    const dataDir = join(await freshDir(), 'data');
    const opening = openDataDir(configFor(dataDir), silentLogger);
    const lock = await opening.locked;
    const { instanceId, spool } = await opening.opened;
    // The cursor of the default file sink is on disk before any reader opened.
    expect(JSON.parse(await readFile(join(dataDir, 'spool', 'cursors', 'file.json'), 'utf8'))).toEqual({ nextSeq: 0 });
    expect((await readFile(join(dataDir, INSTANCE_ID_FILE), 'utf8')).trim()).toBe(instanceId);
    expect(await spool.readerStart('file')).toBe(0);
    await spool.append([Buffer.from('one'), Buffer.from('two')]);
    await spool.close();
    await lock.release();

    const again = openDataDir(configFor(dataDir), silentLogger);
    const relock = await again.locked;
    const reopened = await again.opened;
    expect(reopened.instanceId).toBe(instanceId);
    expect(await reopened.spool.readerStart('file')).toBe(0);
    expect(reopened.spool.committedSeq).toBe(2);
    await reopened.spool.close();
    await relock.release();
    const report = await verifySpool(join(dataDir, 'spool'));
    expect({ damage: report.damage, strays: report.strays, records: report.records }).toEqual({ damage: false, strays: [], records: 2 });
  });

  it('refuses a dir another holds and touches nothing in it', async () => {
    const dataDir = await freshDir();
    const holder = await lockDataDir(dataDir);
    cleanups.push(() => holder.release());
    const opening = openDataDir(configFor(dataDir), silentLogger);
    await expect(opening.locked).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(opening.opened).rejects.toBeInstanceOf(DataDirInUseError);
    expect((await readdir(dataDir)).sort()).toEqual(['.lock']);
  });

  it('releases the lock when the spool cannot open, with the spool\'s error', async () => {
    const dataDir = await freshDir();
    await writeFile(join(dataDir, 'spool'), 'a file where the spool dir should be');
    const opening = openDataDir(configFor(dataDir), silentLogger);
    await opening.locked;
    await expect(opening.opened).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    // Free again: the failed opening let go of it.
    await (await lockDataDir(dataDir)).release();
  });

  it('starts cleanly after SIGKILLs at every moment of a first start and of restarts, losing nothing acknowledged', async () => {
    const dataDir = join(await freshDir(), 'data');
    const port = await freePort();
    const configFile = join(await freshDir(), 'sparkngin.yaml');
    await writeFile(configFile, stringify({ listen: { host: '127.0.0.1', port }, dataDir }));
    const killedAfter = async (ms: number) => {
      const child = spawn(process.execPath, [BUNDLE, 'start', '--config', configFile], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, ms));
      child.kill('SIGKILL');
      await exited;
    };
    // A spread of moments: before the lock, during it, the instance id, the spool's files, the cursor, listening.
    const moments = Array.from({ length: 10 }, (_, i) => 40 + i * 35);
    for (const ms of moments) await killedAfter(ms);

    const daemon = await startDaemon({ dataDir });
    cleanups.push(() => daemon.close());
    const accepted = await postEvents(daemon.url, 'starts', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(accepted.status).toBe(202);
    const instanceId = (await readFile(join(dataDir, INSTANCE_ID_FILE), 'utf8')).trim();
    await daemon.kill();
    for (const ms of moments) await killedAfter(ms);

    await daemon.restart();
    const stats = (await (await fetch(`${daemon.url}/stats`)).json()) as { instance: { id: string }; spool: { nextSeq: number; lostRecords: number; strayFiles: number; damagedStretches: number; cursorResets: number } };
    expect(stats.instance.id).toBe(instanceId);
    expect(stats.spool).toMatchObject({ nextSeq: 3, lostRecords: 0, strayFiles: 0, damagedStretches: 0, cursorResets: 0 });
    const delivered = async () => (await fileSinkLines(join(dataDir, 'out', 'starts.ndjson'))).map((line) => line.data.n as number);
    const deadline = Date.now() + 20_000;
    while ((await delivered()).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...new Set(await delivered())].sort()).toEqual([1, 2, 3]);
    await daemon.stop();
    const report = await verifySpool(join(dataDir, 'spool'));
    expect({ damage: report.damage, strays: report.strays, lost: report.lostRecords }).toEqual({ damage: false, strays: [], lost: 0 });
  }, 120_000);
});
