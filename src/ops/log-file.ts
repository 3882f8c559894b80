// log.file: the daemon's JSON lines in a file of its own instead of stderr, for where no journal
// takes them (a tarball started by hand, launchd, a container writing to a volume). Rotated by size
// here (log.rotateBytes, log.keepFiles: `FILE.1` is the newest rotated one), and reopened on SIGHUP
// for an outside rotator (logrotate, newsyslog) that renamed it. Lines are written at once (a
// synchronous write, as stderr's own writes to a file or pipe are), so the last line before a crash
// is there. A line that cannot be written (a full disk) goes to stderr rather than nowhere.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SparknginError } from '../errors';

/** log.file cannot be opened (exit 1 at start, naming it). */
export class LogFileError extends SparknginError {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super('LOG_FILE_UNUSABLE', `log.file: cannot open ${path}: ${cause.code ?? cause.message}`, { cause });
  }
}

export class LogFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly rotateBytes: number,
    private readonly keepFiles: number,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'a', 0o640);
    } catch (error) {
      throw new LogFileError(path, error as NodeJS.ErrnoException);
    }
    this.size = fstatSync(this.fd).size;
  }

  write(line: string): void {
    try {
      this.size += writeSync(this.fd, line);
    } catch {
      process.stderr.write(line);
      return;
    }
    if (this.rotateBytes > 0 && this.size >= this.rotateBytes) this.rotate();
  }

  /** Opens the file again by its name (after an outside rotation moved it away). */
  reopen(): void {
    const fd = openSync(this.path, 'a', 0o640);
    closeSync(this.fd);
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** FILE → FILE.1 → … → FILE.keepFiles; the one past that is deleted. */
  private rotate(): void {
    try {
      rmSync(`${this.path}.${this.keepFiles}`, { force: true });
      for (let n = this.keepFiles - 1; n >= 1; n--) {
        try {
          renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      if (this.keepFiles > 0) renameSync(this.path, `${this.path}.1`);
      else rmSync(this.path, { force: true });
      this.reopen();
    } catch (error) {
      process.stderr.write(`sparkngin: cannot rotate ${this.path}: ${(error as Error).message}\n`);
    }
  }
}
