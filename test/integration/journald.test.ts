// Journald-friendly logs (src/ops/journal.ts): a daemon whose stderr is the stream JOURNAL_STREAM
// names (as systemd sets it for a service) writes each JSON line with its syslog priority first and
// without a time field (the journal stamps lines itself); with JOURNAL_STREAM naming another file,
// or log.journald: off, the lines are plain JSON with their time.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createLogger } from '../../src/ops/log';
import { freePort } from '../peers/ports';
import { BUNDLE } from './daemon-process';

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
