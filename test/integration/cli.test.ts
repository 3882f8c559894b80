// The `sparkngin` command as users run it (the bundle that `npm start` runs).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE } from './daemon-process';

const run = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUNDLE, ...args], { env: { ...process.env, SPARKNGIN_LISTEN_PORT: undefined } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sparkngin CLI', () => {
  it('prints version, commit and target', async () => {
    const { code, stdout } = await run('version');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sparkngin \d+\.\d+\.\d+ \(commit \S+, linux-x64, node v\d+/);
  });

  it.each([['start'], ['version'], ['config']])('has --help for %s', async (command) => {
    const { code, stdout } = await run(command, '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: sparkngin/);
  });

  it('checks a config file: OK for a good one, exit 2 naming every problem for a bad one', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'listen:\n  port: 7090\nsinks:\n  kafka:\n    brokers: [127.0.0.1:9092]\n');
    expect(await run('config', 'check', good)).toMatchObject({ code: 0, stdout: `${good}: OK\n` });
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'listen:\n  port: seventy\nspool:\n  fullPolicy: panic\n');
    const checked = await run('config', 'check', bad);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toMatch(/listen\.port: expected a non-negative number, got 'seventy'/);
    expect(checked.stderr).toMatch(/spool\.fullPolicy: expected one of reject\|drop-oldest, got 'panic'/);
  });

  it('lists every key with its environment variable, and shows the effective config', async () => {
    const keys = await run('config', 'keys');
    expect(keys.stdout).toMatch(/^spool\.fsync\s+SPARKNGIN_SPOOL_FSYNC$/m);
    const shown = await run('config', 'show', '--port', '7099', '--set', 'spool.fsync=always');
    expect(JSON.parse(shown.stdout)).toMatchObject({ listen: { port: 7099 }, spool: { fsync: 'always' } });
  });

  it('answers a usage error with exit 2', async () => {
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('start', '--no-such-flag')).code).toBe(2);
  });
});
