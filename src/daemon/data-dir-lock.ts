// One daemon per data dir: two writers on one spool would interleave records and fight over the
// cursors. The lock is flock(2) on `<dataDir>/.lock`, a file the daemon creates with mode 0600 and
// keeps open for its whole life. A flock lock is on the file itself, so it holds across network, PID,
// mount and user namespaces (another container sharing the volume), for every path to the dir
// (symlinks, bind mounts), between users, and over NFS (Linux maps it to a POSIX lock through lockd).
// The kernel drops it with the last descriptor of the open file, that is the moment the daemon dies,
// SIGKILL included: there is never a stale lock to clear, and a restart right after a crash just
// works. Mode 0600 keeps other users from opening the file at all, and flock needs nothing more than
// a descriptor, even a read-only one: nobody else can squat the lock.
// Node has no flock API, so a helper locks the daemon's own descriptor: the daemon opens the file and
// hands that descriptor to `flock --nonblock --exclusive 3` (util-linux, in every Linux base system),
// which locks it and exits. A flock lock belongs to the open file description, not to the process that
// asked for it, so it stays with the daemon's descriptor; Node opens files close-on-exec, so no child
// inherits it. Cost: one spawn at start. In a small process `lockDataDir` takes 3.4–3.6 ms (median of
// 30, min 2.3, load average 7–12 on the 2-core dev machine), of which the fork blocks the event loop
// 1.5–1.8 ms; in the daemon, whose address space the fork copies, and under strace, which follows the
// child, much more (21 ms in one traced start). So `sparkngin start` takes the lock as soon as it has
// read its configuration and evaluates the daemon's other modules (~20–40 ms of CPU) while the child
// runs (src/daemon/data-dir.ts): what is left of the spawn on the way to listening is the fork itself.
// On macOS there is no flock(1); /usr/bin/perl's flock() does the same there (BSD flock(2), same
// semantics; 24 ms), and without perl the daemon starts unlocked with a warning.
// The alternatives, and why they lose:
// - the abstract Unix socket this was before: per network namespace, so a daemon in another container
//   sharing the volume did not see it (both wrote one segment), and any local user could bind the name
//   first and keep the daemon from starting;
// - a native addon (fs-ext, os-lock on npm): a compiler at install, or prebuilt `.node` files per
//   platform shipped beside the single executable and loaded by hand, all for one system call;
// - node:sqlite's locks, the one lock without a child in Node 22 (what runs everything now): still
//   experimental in 22.23 (a warning on stderr at every start); SQLite's unix VFS takes POSIX fcntl
//   locks, which are the process's and are lost when any descriptor of the file is closed (reading
//   the holder's line would drop it), and which Linux keeps apart from flock(2), so during an upgrade
//   a new daemon on fcntl and an old one, or an old `spool compact`, on flock would both hold the
//   dir. Nothing else in Node 22 locks a file (no flock, no fcntl, no O_EXLOCK on Linux);
// - a pid file or a lock file kept fresh by a timer (proper-lockfile): the first guesses whether a
//   pid is still ours (a guess indeed from another PID namespace), the second needs a staleness
//   timeout that a restart after kill -9 must wait out;
// - a helper that holds the lock for the daemon's lifetime (`flock FILE cat`, macOS `lockf(1)`,
//   `shlock`): one more process to watch, and killing it drops the lock under a running daemon.
// The holder writes "pid N on host H" into the file, so that a refusal can name it. The file is never
// deleted: a new file of the same name would be a new lock beside the old one.
import { spawn } from 'node:child_process';
import { close, constants, fchmod, fstat, ftruncate, open, write } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SparknginError } from '../errors';
import type { Logger } from '../ops/log';
import { mkdirDurably } from '../spool/durable-file';

export const LOCK_FILE = '.lock';

export class DataDirInUseError extends SparknginError {
  constructor(dir: string, holder: string) {
    super('DATA_DIR_IN_USE', `the data dir ${dir} is in use by another sparkngin (${holder}); stop it or give this one another dataDir`);
  }
}

/** The data dir cannot be made or used (permissions, a file in the way, a read-only mount). */
export class DataDirUnusableError extends SparknginError {
  constructor(dir: string, cause: NodeJS.ErrnoException | string) {
    const why = typeof cause === 'string' ? cause : cause.message;
    super('DATA_DIR_UNUSABLE', `cannot use the data dir ${dir}: ${why}`, typeof cause === 'string' ? {} : { cause });
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** A program that flock(2)s descriptor 3 without blocking: exit 0 locked, CONFLICT held by another. */
export interface LockHelper {
  command: string;
  args: string[];
}

const CONFLICT = 75; // EX_TEMPFAIL

export const LOCK_HELPERS = {
  flock: { command: 'flock', args: ['--nonblock', '--exclusive', '--conflict-exit-code', String(CONFLICT), '3'] },
  perl: { command: '/usr/bin/perl', args: ['-MFcntl=:flock', '-e', `open(my $f, '<&=', 3) or exit 2; flock($f, LOCK_EX | LOCK_NB) or exit ${CONFLICT}`] },
} satisfies Record<string, LockHelper>;

const helperFor = (platform: NodeJS.Platform): LockHelper | undefined =>
  platform === 'linux' ? LOCK_HELPERS.flock : platform === 'darwin' ? LOCK_HELPERS.perl : undefined;

const openFd = promisify(open);
const closeFd = promisify(close);
const fstatFd = promisify(fstat);

export interface LockOptions {
  logger?: Logger;
  /** Which helper takes the lock; by default the one for this platform. */
  helper?: LockHelper;
}

/** Takes the data dir's lock (making the dir if need be) or throws DataDirInUseError. */
export async function lockDataDir(dir: string, options: LockOptions = {}): Promise<DataDirLock> {
  await mkdirDurably(dir).catch((error: NodeJS.ErrnoException) => Promise.reject(new DataDirUnusableError(dir, error)));
  const path = join(dir, LOCK_FILE);
  const fd = await openFd(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600).catch((error: NodeJS.ErrnoException) =>
    Promise.reject(new DataDirUnusableError(dir, error)),
  );
  try {
    await checkPrivate(dir, fd);
    const helper = options.helper ?? helperFor(process.platform);
    const outcome = helper === undefined ? 'no-helper' : await runHelper(helper, fd);
    if (outcome === 'conflict') throw new DataDirInUseError(dir, await holderOf(path));
    if (outcome === 'no-helper') {
      options.logger?.warn('daemon.data_dir_unlocked', { dir, reason: `no flock helper on ${process.platform}: keep to one daemon per data dir by hand` });
    } else if (outcome !== 'locked') {
      throw new DataDirUnusableError(dir, `cannot lock ${path}: ${outcome}`);
    }
    await promisify(ftruncate)(fd, 0);
    await promisify(write)(fd, `pid ${process.pid} on host ${hostname()}\n`, 0);
  } catch (error) {
    await closeFd(fd);
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await closeFd(fd);
    },
  };
}

export type LockProbe = { state: 'free' } | { state: 'held'; holder: string } | { state: 'unknown'; why: string };

/**
 * Whether a daemon holds the data dir, for offline tools: takes the lock for an instant if it can
 * (a daemon starting in that instant is refused, as with any holder), creates nothing.
 */
export async function probeDataDirLock(dir: string, helper = helperFor(process.platform)): Promise<LockProbe> {
  const path = join(dir, LOCK_FILE);
  let fd: number;
  try {
    fd = await openFd(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { state: 'free' } : { state: 'unknown', why: `cannot open ${path}: ${code}` };
  }
  try {
    if (helper === undefined) return { state: 'unknown', why: `no flock helper on ${process.platform}` };
    const outcome = await runHelper(helper, fd);
    if (outcome === 'locked') return { state: 'free' };
    if (outcome === 'conflict') return { state: 'held', holder: await holderOf(path) };
    return { state: 'unknown', why: outcome };
  } finally {
    await closeFd(fd);
  }
}

/** Anyone who can open the lock file can hold it: it must be a regular file only its owner can open. */
async function checkPrivate(dir: string, fd: number): Promise<void> {
  const info = await fstatFd(fd);
  if (!info.isFile()) throw new DataDirUnusableError(dir, `${LOCK_FILE} is not a regular file`);
  if ((info.mode & 0o077) === 0) return;
  if (info.uid !== process.geteuid?.()) {
    throw new DataDirUnusableError(dir, `${LOCK_FILE} belongs to uid ${info.uid} and others may open it (mode ${(info.mode & 0o777).toString(8)}): remove it`);
  }
  await promisify(fchmod)(fd, 0o600);
}

type HelperOutcome = 'locked' | 'conflict' | string;

function runHelper(helper: LockHelper, fd: number): Promise<HelperOutcome> {
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(helper.command, helper.args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? `${helper.command} not found (on Linux it is part of util-linux)` : `${helper.command}: ${error.message}`),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve('locked');
      else if (code === CONFLICT) resolve('conflict');
      else if (code !== null || signal !== null) resolve(`${helper.command} exited with ${code ?? signal}: ${stderr.trim()}`);
    });
  });
}

/** "pid N on host H" as the holder wrote it, or why it cannot be told. */
async function holderOf(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const holder = /^pid \d+ on host \S+/.exec(text.slice(0, 300));
  return holder ? holder[0] : 'holder unknown';
}
