// One daemon per data dir: two writers on one spool would interleave records and fight over the
// cursors. The lock is a Unix socket in Linux's abstract namespace, named after the data dir's device
// and inode (so two paths to one dir are one lock, and one path over two mounts is two). The kernel
// drops it the moment the process dies, SIGKILL included: there is never a stale lock to clear, and a
// restart right after a crash just works. A pid file would need a guess at whether its pid is still
// ours; a lock file kept fresh by a timer (proper-lockfile's way) needs a staleness timeout that a
// restart after kill -9 must wait out, and a busy event loop can miss its refresh.
// The holder answers a connection with its pid, so that the refusal can name it.
import { mkdir, stat } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { SparknginError } from '../errors';
import { listen } from './listen';

export class DataDirInUseError extends SparknginError {
  constructor(dir: string, holder: string) {
    super('DATA_DIR_IN_USE', `the data dir ${dir} is in use by another sparkngin (${holder}); stop it or give this one another dataDir`);
  }
}

/** The data dir cannot be made or used (permissions, a file in the way, a read-only mount). */
export class DataDirUnusableError extends SparknginError {
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super('DATA_DIR_UNUSABLE', `cannot use the data dir ${dir}: ${cause.message}`, { cause });
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Takes the data dir's lock (making the dir if need be) or throws DataDirInUseError. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => Promise.reject(new DataDirUnusableError(dir, error)));
  if (process.platform !== 'linux') return { release: async () => undefined }; // macOS: its own issue
  const { dev, ino } = await stat(dir);
  const name = `\0sparkngin/data-dir/${dev}:${ino}`;
  const server = createServer((socket) => socket.end(`${process.pid}\n`));
  try {
    await listen(server, { path: name });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new DataDirInUseError(dir, await holderOf(name));
  }
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** "pid N", from the holder itself; "pid unknown" if it does not answer within a second. */
function holderOf(name: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection(name);
    const done = () => {
      socket.destroy();
      const pid = answer.trim();
      resolve(/^\d+$/.test(pid) ? `pid ${pid}` : 'pid unknown');
    };
    socket.setTimeout(1000, done);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', done);
    socket.on('error', done);
  });
}
