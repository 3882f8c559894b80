// Where the daemon's log lines go. Journald-friendly (src/ops/journal.ts): a daemon whose stderr is
// the stream JOURNAL_STREAM names (as systemd sets it for a service) writes each JSON line with its
// syslog priority first and without a time field (the journal stamps lines itself); with
// JOURNAL_STREAM naming another file, or log.journald: off, the lines are plain JSON with their time.
// log.file (src/ops/log-file.ts): a file of the daemon's, rotated by size and reopened on SIGHUP.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createLogger } from '../../src/ops/log';
import { freePort } from '../peers/ports';
import { BUNDLE, startDaemon } from './daemon-process';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-journald-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the daemon with stderr into a file until it has started and stopped; returns the file's lines. */
async function runWithStderrFile(name: string, journalStream: (log: string) => string, settings: Record<string, unknown> = {}): Promise<string[]> {
  const log = join(dir, `${name}.log`);
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, stringify({ listen: { host: '127.0.0.1', port: await freePort() }, dataDir: join(dir, name), shutdownTimeoutMs: 2000, ...settings }));
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [BUNDLE, 'start', '--config', config], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, JOURNAL_STREAM: journalStream(log), SPARKNGIN_LOG_LEVEL: undefined } });
  closeSync(fd);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && !readFileSync(log, 'utf8').includes('daemon.started'); ) await new Promise((resolve) => setTimeout(resolve, 50));
  child.kill('SIGTERM');
  await exited;
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const streamOf = (path: string) => {
  const { dev, ino } = statSync(path, { bigint: true });
  return `${dev}:${ino}`;
};

describe('logs under journald', () => {
  it('are JSON lines with the syslog priority first and no time when stderr is the journal stream', async () => {
    const lines = await runWithStderrFile('journal', streamOf);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).toMatch(/^<[3467]>\{/);
    const started = lines.find((line) => line.includes('"daemon.started"'))!;
    expect(started.startsWith('<6>')).toBe(true);
    const record = JSON.parse(started.slice(3));
    expect(record).toMatchObject({ level: 'info', event: 'daemon.started' });
    expect(record).not.toHaveProperty('time');
    expect(lines.some((line) => line.startsWith('<6>{"level":"info","event":"daemon.stopped"'))).toBe(true);
  });

  it('are plain JSON with their time elsewhere, or when log.journald is off', async () => {
    for (const [name, stream, settings] of [
      ['elsewhere', () => '1:1', {}],
      ['off', streamOf, { log: { journald: 'off' } }],
    ] as const) {
      const lines = await runWithStderrFile(name, stream, settings);
      const started = JSON.parse(lines.find((line) => line.includes('"daemon.started"'))!);
      expect(started.time).toMatch(/^\d{4}-\d\d-\d\dT/);
      for (const line of lines) expect(line.startsWith('{')).toBe(true);
    }
  });

  it('maps every level to its priority', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', {}, (line) => void lines.push(line), new Map(), true);
    logger.error('spool.write_failed');
    logger.warn('spool.read_retry');
    logger.info('daemon.started');
    logger.debug('ingest.refused');
    expect(lines.map((line) => line.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
  });
});

describe('log.file', () => {
  it('rotates by size keeping log.keepFiles, and is opened again on SIGHUP after an outside rotation', async () => {
    const file = join(dir, 'logs', 'sparkngin.log');
    const daemon = await startDaemon({ config: { log: { level: 'debug', file, rotateBytes: 4096, keepFiles: 2 } } });
    try {
      // Each refused request is a debug line: enough of them to rotate several times.
      for (let i = 0; i < 80; i++) await fetch(`${daemon.url}/nowhere/${i}`);
      const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
      for (let wait = 0; wait < 100 && !existsSync(`${file}.2`); wait++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(existsSync(`${file}.1`) && existsSync(`${file}.2`)).toBe(true);
      expect(existsSync(`${file}.3`)).toBe(false);
      for (const path of [file, `${file}.1`, `${file}.2`]) {
        expect(statSync(path).size).toBeLessThan(4096 + 1024);
        expect(lines(path).every((line) => typeof line.time === 'string' && typeof line.event === 'string')).toBe(true);
      }
      expect(lines(`${file}.2`).at(-1).time <= lines(`${file}.1`)[0].time).toBe(true);
      expect(daemon.logs()).not.toContain('ingest.refused');
      // As logrotate or newsyslog do: move the file away, then SIGHUP.
      renameSync(file, `${file}.moved`);
      daemon.signal('SIGHUP');
      for (let wait = 0; wait < 100 && !existsSync(file); wait++) await new Promise((resolve) => setTimeout(resolve, 50));
      await fetch(`${daemon.url}/after-hup`);
      for (let wait = 0; wait < 100 && !readFileSync(file, 'utf8').includes('/after-hup'); wait++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(readFileSync(file, 'utf8')).toContain('/after-hup');
      expect(readFileSync(`${file}.moved`, 'utf8')).not.toContain('/after-hup');
    } finally {
      await daemon.close();
    }
  });
});
