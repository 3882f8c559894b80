// The `sparkngin` command as users run it (the bundle that `npm start` runs).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, startDaemon } from './daemon-process';

const run = (...args: string[]) => runWith({}, ...args);

const runWith = async (env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUNDLE, ...args], { env: { ...process.env, SPARKNGIN_LISTEN_PORT: undefined, ...env } });
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

  it('config check refuses keys that mean something to a JavaScript object, by name, exit 2', async () => {
    const hostile = join(dir, 'hostile.yaml');
    await writeFile(hostile, 'listen:\n  __proto__: {port: 1}\nconstructor: {prototype: {polluted: true}}\ntoString: x\nsinks:\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topicMap: {constructor: ctor, __proto__: proto}\n');
    const checked = await run('config', 'check', hostile);
    expect(checked.code).toBe(2);
    expect(checked.stderr.split('\n').slice(1, 4).map((line) => line.trim())).toEqual([
      `listen.__proto__: unknown setting in ${hostile}`,
      `constructor: unknown setting in ${hostile}`,
      `toString: unknown setting in ${hostile}`,
    ]);
    // As a topic map's keys, they are topics like any other.
    const mapOnly = join(dir, 'topic-map.yaml');
    await writeFile(mapOnly, 'sinks:\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topicMap: {constructor: ctor, __proto__: proto}\n');
    expect(await run('config', 'check', mapOnly)).toMatchObject({ code: 0 });
    const shown = JSON.parse((await run('config', 'show', '--config', mapOnly)).stdout) as { sinks: { kafka: { topicMap: unknown } } };
    expect(Object.entries(shown.sinks.kafka.topicMap as object)).toEqual([['constructor', 'ctor'], ['__proto__', 'proto']]);
  });

  it('names a SPARKNGIN_* variable that is no setting, with the one it most plausibly meant: config check warns, start logs one line', async () => {
    const good = join(dir, 'env-good.yaml');
    await writeFile(good, 'listen:\n  port: 7090\n');
    const checked = await runWith({ SPARKNGIN_LISTEN_PORTT: '7091', SPARKNGIN_SPOOL_FSYNC: 'always' }, 'config', 'check', good);
    expect(checked).toMatchObject({ code: 0, stdout: `${good}: OK\n` });
    expect(checked.stderr).toBe('sparkngin: warning: environment variable SPARKNGIN_LISTEN_PORTT is not a setting (did you mean SPARKNGIN_LISTEN_PORT?); it is ignored\n');
    // config check sees the environment as start would: a bad value there is a problem too.
    const badEnv = await runWith({ SPARKNGIN_SPOOL_FSYNC: 'sometimes' }, 'config', 'check', good);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/spool\.fsync: expected one of batch\|always\|never, got 'sometimes' \(env SPARKNGIN_SPOOL_FSYNC\)/);

    const daemon = await startDaemon({ env: { SPARKNGIN_KAFKA_BROKERS: '127.0.0.1:9', SPARKNGIN_NO_SUCH_THING: 'secret-value' } });
    try {
      const warnings = daemon
        .logs()
        .split('\n')
        .filter((line) => line.includes('config.unknown_env'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(warnings).toEqual([
        expect.objectContaining({ level: 'warn', event: 'config.unknown_env', variable: 'SPARKNGIN_KAFKA_BROKERS', closest: 'SPARKNGIN_SINKS_KAFKA_BROKERS' }),
        expect.objectContaining({ level: 'warn', event: 'config.unknown_env', variable: 'SPARKNGIN_NO_SUCH_THING' }),
      ]);
      expect(daemon.logs()).not.toContain('secret-value');
    } finally {
      await daemon.close();
    }
  });

  it('lists every key with its environment variable, and shows the effective config', async () => {
    const keys = await run('config', 'keys');
    expect(keys.stdout).toMatch(/^spool\.fsync\s+SPARKNGIN_SPOOL_FSYNC$/m);
    const shown = await run('config', 'show', '--port', '7099', '--set', 'spool.fsync=always');
    expect(JSON.parse(shown.stdout)).toMatchObject({ listen: { port: 7099 }, spool: { fsync: 'always' } });
  });

  it('answers a usage error with exit 2 and the usage of the command concerned', async () => {
    // No command at all is a usage error, not a success.
    const bare = await run();
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    expect(bare.stderr).toMatch(/^sparkngin: a command is needed\n\nUsage: sparkngin <command>/);

    // An unknown command names the nearest one when it looks like a typo.
    const typo = await run('strat');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^sparkngin: unknown command 'strat'; did you mean 'start'\?/);
    expect((await run('frobnicate')).stderr).toMatch(/^sparkngin: unknown command 'frobnicate'\n\nUsage: sparkngin <command>/);
    const subTypo = await run('config', 'chek', 'x.yaml');
    expect(subTypo.code).toBe(2);
    expect(subTypo.stderr).toMatch(/^sparkngin: unknown command 'config chek'; did you mean 'config check'\?\n\nUsage: sparkngin config <command>/);

    // A bad option or argument prints that command's usage, not the list of all commands.
    const badFlag = await run('start', '--no-such-flag');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/^sparkngin: Unknown option '--no-such-flag'\n\nUsage: sparkngin start \[options\]/);
    expect(badFlag.stderr).not.toContain('Commands:');
    const noFile = await run('config', 'check');
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/^sparkngin: config check takes exactly one FILE\n\nUsage: sparkngin config check FILE/);
    expect((await run('config', 'show', '--set', 'novalue')).stderr).toMatch(/^sparkngin: --set expects KEY=VALUE, got 'novalue'\n\nUsage: sparkngin config show/);
    expect(await run('config')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sparkngin: 'config' needs a command\n\nUsage: sparkngin config <command>/) });
    expect((await run('version', 'extra')).code).toBe(2);
  });

  it('prints the usage of a subcommand for its --help and for help COMMAND', async () => {
    expect(await run('config', 'check', '--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: sparkngin config check FILE\n/) });
    expect(await run('help', 'config', 'show')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: sparkngin config show/) });
    expect(await run('help', 'start')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: sparkngin start/) });
    const all = await run('--help');
    expect(all.code).toBe(0);
    for (const form of ['start', 'version', 'config check FILE', 'config show', 'config keys']) expect(all.stdout).toMatch(new RegExp(`^  ${form} `, 'm'));
  });

  it('refuses a second daemon on the same data dir, naming the first; after a kill -9 the dir is free at once', async () => {
    const first = await startDaemon();
    try {
      const port = String(first.port + 1);
      const second = await run('start', '--port', port, '--data-dir', first.dataDir);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`^sparkngin: the data dir ${first.dataDir} is in use by another sparkngin \\(pid \\d+ on host \\S+\\)`));
      // The same dir by another path is the same lock.
      const link = join(dir, 'link-to-data');
      await symlink(first.dataDir, link);
      expect((await run('start', '--port', port, '--data-dir', link)).stderr).toMatch(/is in use by another sparkngin/);

      // The kernel drops the lock with the process: no stale lock after SIGKILL.
      await first.kill();
      await first.restart();
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
    } finally {
      await first.close();
    }
  });

  it('says plainly when the port is taken or the data dir cannot be made, exit 1, no stack trace', async () => {
    const holder = await startDaemon();
    try {
      const taken = await run('start', '--port', String(holder.port), '--data-dir', join(dir, 'other'));
      expect(taken.code).toBe(1);
      expect(taken.stderr.trim()).toBe(`sparkngin: cannot listen on 127.0.0.1:${holder.port}: the address is in use`);
    } finally {
      await holder.close();
    }
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, '');
    const unusable = await run('start', '--port', '0', '--data-dir', join(blocker, 'data'));
    expect(unusable.code).toBe(1);
    expect(unusable.stderr.trim()).toMatch(new RegExp(`^sparkngin: cannot use the data dir ${blocker}/data: ENOTDIR`));
  });
});
