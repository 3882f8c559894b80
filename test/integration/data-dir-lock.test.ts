// The data-dir lock for real: flock(2) on <dataDir>/.lock, held across network namespaces and users,
// released by kill -9 at once; the lock file is private (0600) so nobody else can squat it.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE, LOCK_HELPERS, lockDataDir } from '../../src/daemon/data-dir-lock';
import { freePort } from '../peers/ports';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

const NOBODY = 65534;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
/** Another network namespace (unshare) and another user (setpriv) need root: `npm test` runs as root. */
const isRoot = process.geteuid?.() === 0;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-lock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function daemon(options: Parameters<typeof startDaemon>[0]): Promise<DaemonProcess> {
  const started = await startDaemon(options);
  cleanups.push(() => started.close());
  return started;
}

/** `sparkngin start` on `dataDir` under `launcher`; it must be refused, so it exits by itself. */
async function startRefused(dataDir: string, launcher: string[] = []): Promise<{ code: number; stderr: string }> {
  const command = [...launcher, process.execPath, BUNDLE, 'start', '--port', String(await freePort()), '--data-dir', dataDir];
  try {
    await promisify(execFile)(command[0]!, command.slice(1), { timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('data-dir lock', () => {
  it.each(Object.entries(LOCK_HELPERS))('refuses a second holder in the same process, names the first, and frees on release (%s helper)', async (_name, helper) => {
    const dir = await freshDir();
    const first = await lockDataDir(dir, { helper });
    const refusal = await lockDataDir(dir, { helper }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirInUseError);
    expect((refusal as Error).message).toMatch(new RegExp(`in use by another sparkngin \\(pid ${process.pid} on host \\S+\\)`));
    await first.release();
    const second = await lockDataDir(dir, { helper });
    await second.release();
  });

  it('creates the lock file 0600, tightens a loose one of ours, and refuses one that others may open', async () => {
    const dir = await freshDir();
    const lock = await lockDataDir(dir);
    expect((await stat(join(dir, LOCK_FILE))).mode & 0o777).toBe(0o600);
    await lock.release();
    await chmod(join(dir, LOCK_FILE), 0o644);
    await (await lockDataDir(dir)).release();
    expect((await stat(join(dir, LOCK_FILE))).mode & 0o777).toBe(0o600);
    if (!isRoot) return; // the rest needs a file of another user
    await chmod(join(dir, LOCK_FILE), 0o644);
    await chown(join(dir, LOCK_FILE), NOBODY, NOBODY);
    await expect(lockDataDir(dir)).rejects.toThrow(/\.lock belongs to uid 65534 and others may open it \(mode 644\): remove it/);
  });

  it('says what is missing when the flock helper is not there', async () => {
    const dir = await freshDir();
    await expect(lockDataDir(dir, { helper: { command: 'no-such-flock-helper', args: [] } })).rejects.toThrow(/cannot lock .*\.lock: no-such-flock-helper not found/);
  });

  it.skipIf(!isRoot)('keeps a daemon in another network namespace from starting (unshare -n)', async () => {
    const first = await daemon({});
    const refused = await startRefused(first.dataDir, ['unshare', '--net']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is in use by another sparkngin \(pid \d+ on host \S+\)/);
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  });

  it.skipIf(!isRoot)('holds between users: root is refused on a dir a nobody daemon holds, nobody on a dir root holds', async () => {
    const nobodysDir = await freshDir();
    await chown(nobodysDir, NOBODY, NOBODY);
    const nobodys = await daemon({ dataDir: nobodysDir, launcher: AS_NOBODY });
    const lockFile = await stat(join(nobodysDir, LOCK_FILE));
    expect([lockFile.uid, lockFile.mode & 0o777]).toEqual([NOBODY, 0o600]);
    const asRoot = await startRefused(nobodysDir);
    expect(asRoot.code).toBe(1);
    expect(asRoot.stderr).toMatch(/is in use by another sparkngin \(pid \d+ on host/);

    const rootsDir = await freshDir();
    await chmod(rootsDir, 0o777); // even with the dir open to everyone, the lock file is not
    await daemon({ dataDir: rootsDir });
    const asNobody = await startRefused(rootsDir, AS_NOBODY);
    expect(asNobody.code).toBe(1);
    expect(asNobody.stderr).toMatch(/cannot use the data dir .*: EACCES: permission denied, open '.*\.lock'/);
    // Nor can another user take the lock first while the daemon is down: the file is not theirs to open.
    const squat = await promisify(execFile)(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'flock', '--nonblock', join(rootsDir, LOCK_FILE), 'true']).catch((error: { stderr: string }) => error);
    expect((squat as { stderr: string }).stderr).toMatch(/Permission denied/);
    expect((await fetch(`${nobodys.url}/health`)).status).toBe(200);
  });

  it('is released by kill -9 at once: a restart right after succeeds, and the file says who holds it', async () => {
    const first = await daemon({});
    const refused = await startRefused(first.dataDir);
    expect(refused.stderr).toMatch(/is in use by another sparkngin/);
    await first.kill();
    await first.restart();
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
    expect(await readFile(join(first.dataDir, LOCK_FILE), 'utf8')).toMatch(/^pid \d+ on host \S+\n$/);
  });
});
