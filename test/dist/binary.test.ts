// The single executables themselves, and the documents shipped with them: the executable (not
// `node src/…`) runs every CLI command; the arm64 one is a real aarch64 ELF carrying the blob; the
// man page and the shipped config name every setting `sparkngin config keys` knows.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { renderConfig } from '../../packaging/render';
import { NODE_VERSION, targetByName } from '../../packaging/targets';
import { configKeys, DIST_TIMEOUT_MS, ensureDist, ok, ROOT, sh, tempDir } from './helpers';
import { documentedKey } from '../../src/sinks/kinds';

let ctx: Context;
let exe: string;

beforeAll(() => {
  ctx = ensureDist();
  exe = names.binary(ctx, targetByName('linux-x64'));
}, DIST_TIMEOUT_MS);

describe('single executable', () => {
  it('prints version, commit, target and the pinned Node', () => {
    const out = ok(exe, ['version']);
    expect(out).toBe(`sparkngin ${ctx.version} (commit ${ctx.commit}, linux-x64, node v${NODE_VERSION})\n`);
    expect(ok(exe, ['--version'])).toBe(out);
  });

  it('runs without Node or node_modules around it', () => {
    const dir = tempDir('lonely');
    const copy = join(dir, 'sparkngin');
    ok('cp', [exe, copy]);
    const ran = sh(copy, ['config', 'keys'], { cwd: dir, env: { PATH: '/usr/bin:/bin' } });
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain('spool.fsync');
    expect(ran.stderr).not.toMatch(/ExperimentalWarning|single executable/i);
  });

  it('config check: OK for a good file, exit 2 naming the key for a bad one', () => {
    const dir = tempDir('check');
    writeFileSync(join(dir, 'good.yaml'), 'listen:\n  port: 7099\nspool:\n  fsync: always\n');
    writeFileSync(join(dir, 'bad.yaml'), 'spool:\n  fsync: sometimes\nnope: 1\n');
    expect(ok(exe, ['config', 'check', join(dir, 'good.yaml')])).toContain('OK');
    const bad = sh(exe, ['config', 'check', join(dir, 'bad.yaml')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('spool.fsync');
    expect(bad.stderr).toContain('nope');
  });

  it('config show applies flags; help and a usage error', () => {
    const shown = JSON.parse(ok(exe, ['config', 'show', '--port', '7123', '--set', 'spool.fsync=never'])) as { listen: { port: number }; spool: { fsync: string } };
    expect(shown.listen.port).toBe(7123);
    expect(shown.spool.fsync).toBe('never');
    expect(ok(exe, ['--help'])).toContain('Usage: sparkngin');
    expect(ok(exe, ['start', '--help'])).toContain('--data-dir');
    expect(sh(exe, ['frobnicate']).status).toBe(2);
  });

  it('the arm64 executable is an aarch64 ELF with the blob injected', () => {
    const arm = names.binary(ctx, targetByName('linux-arm64'));
    expect(ok('file', ['-b', arm])).toMatch(/ELF 64-bit LSB .*ARM aarch64/);
    // The fuse postject flips from :0 to :1 is how Node knows a blob is there.
    const bytes = readFileSync(arm);
    expect(bytes.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true);
    expect(bytes.includes(`sparkngin ${ctx.version}`) || bytes.includes('config keys')).toBe(true);
  });

  // qemu-user-static and the arm64 cross libc (scripts/deps/apt-dist.txt) run it here, slowly.
  it.skipIf(sh('sh', ['-c', 'command -v qemu-aarch64-static']).status !== 0)('the arm64 executable runs (under qemu): version, config keys, config check', () => {
    const arm = names.binary(ctx, targetByName('linux-arm64'));
    const qemu = (...args: string[]) => ok('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', arm, ...args]);
    expect(qemu('version')).toBe(`sparkngin ${ctx.version} (commit ${ctx.commit}, linux-arm64, node v${NODE_VERSION})\n`);
    expect(qemu('config', 'keys')).toBe(ok(exe, ['config', 'keys']));
    const dir = tempDir('armcheck');
    writeFileSync(join(dir, 'c.yaml'), 'spool:\n  fsync: always\n');
    expect(qemu('config', 'check', join(dir, 'c.yaml'))).toContain('OK');
  });

  it('needs no glibc newer than 2.28 (EL 8) and no libstdc++ newer than EL 8 has', () => {
    const symbols = ok('objdump', ['-T', exe]);
    const newest = (prefix: string) =>
      [...symbols.matchAll(new RegExp(`${prefix}_([0-9.]+)`, 'g'))]
        .map((m) => m[1]!.split('.').map(Number))
        .sort((a, b) => a.reduce((d, v, i) => d || v - (b[i] ?? 0), 0) || a.length - b.length)
        .pop()!
        .join('.');
    expect(newest('GLIBC')).toBe('2.28');
    // EL 8's libstdc++ (GCC 8) provides up to GLIBCXX_3.4.25.
    expect(Number(newest('GLIBCXX').split('.')[2])).toBeLessThanOrEqual(25);
  });
});

describe('documents', () => {
  it('the man page documents every setting, command and option', () => {
    const source = readFileSync(join(ROOT, 'man/sparkngin.8.md'), 'utf8');
    // A setting every sink kind shares is given once, as sinks.NAME.<key> (src/sinks/kinds.ts).
    const missing = configKeys(exe).filter((key) => !source.includes(`**${documentedKey(key)}**`));
    expect(missing, 'a new setting needs its entry in man/sparkngin.8.md: **key** (default …) and its meaning').toEqual([]);
    for (const word of ['**start**', '**version**', '**config check**', '**config show**', '**config keys**', '**--config**', '**--port**', '**--host**', '**--data-dir**', '**--kafka**', '**--set**', 'SIGTERM', '/etc/sparkngin/sparkngin.yaml', '/var/lib/sparkngin']) {
      expect(source).toContain(word);
    }
  });

  it('man -l renders it without a roff warning', () => {
    const ran = sh('man', ['--warnings', '-l', names.manPage(ctx)], { env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8' } });
    expect(ran.status).toBe(0);
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toContain('SPARKNGIN(8)');
    expect(ran.stdout).toContain(`sparkngin ${ctx.version}`);
    expect(ran.stdout).toMatch(/sinks\.kafka\.topicMap/);
  });

  it('the shipped config is valid, and still valid with every commented setting turned on', () => {
    const template = readFileSync(join(ROOT, 'packaging/assets/sparkngin.yaml'), 'utf8');
    const dir = tempDir('conf');
    for (const flavour of ['tarball', 'system'] as const) {
      const text = renderConfig(template, flavour);
      writeFileSync(join(dir, `${flavour}.yaml`), text);
      expect(ok(exe, ['config', 'check', join(dir, `${flavour}.yaml`)])).toContain('OK');
      // '#key: value' and '#  key: value' are settings; '# Text' is prose.
      const uncommented = text.replace(/^#( *[A-Za-z]+:)/gm, '$1');
      writeFileSync(join(dir, `${flavour}-all.yaml`), uncommented);
      expect(ok(exe, ['config', 'check', join(dir, `${flavour}-all.yaml`)])).toContain('OK');
      const shown = JSON.parse(ok(exe, ['config', 'show', '--config', join(dir, `${flavour}-all.yaml`)])) as Record<string, unknown>;
      expect(JSON.stringify(shown)).toContain('"fsync":"batch"');
    }
    const system = JSON.parse(ok(exe, ['config', 'show', '--config', join(dir, 'system.yaml')])) as { dataDir: string; listen: { host: string } };
    expect(system.dataDir).toBe('/var/lib/sparkngin');
    expect(system.listen.host).toBe('127.0.0.1');
    // Every key appears in the file, commented or not.
    const leaves = configKeys(exe).map((key) => key.split('.').pop()!);
    expect(
      leaves.filter((leaf) => !new RegExp(`^#? *${leaf}:`, 'm').test(template)),
      'a new setting needs its commented default line in packaging/assets/sparkngin.yaml',
    ).toEqual([]);
  });
});
