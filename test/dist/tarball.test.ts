// The tarball: untarred into an empty directory it runs with no install; install.sh installs it
// into a prefix, runs again without harm, and never overwrites a config the user edited.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../packaging/context';
import { tarballBase, tarballPath } from '../../packaging/steps/tarball';
import { targetByName } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, sh, tempDir } from './helpers';

let ctx: Context;
let top: string;

beforeAll(() => {
  ctx = ensureDist();
  const dir = tempDir('untar');
  ok('tar', ['-xzf', tarballPath(ctx, targetByName('linux-x64')), '-C', dir]);
  top = join(dir, tarballBase(ctx, targetByName('linux-x64')));
}, DIST_TIMEOUT_MS);

describe('tarball', () => {
  it('holds one top directory with the executable, addon dir, config, man page, unit and install.sh', () => {
    const listing = ok('tar', ['-tvzf', tarballPath(ctx, targetByName('linux-x64'))]).trim().split('\n');
    const entries = listing.map((line) => line.split(/\s+/).pop()!.replace(/\/$/, '')).sort();
    const base = tarballBase(ctx, targetByName('linux-x64'));
    expect(entries).toEqual(
      ['', '/GUIDE.md', '/LICENSE', '/README', '/bin', '/bin/sparkngin', '/etc', '/etc/sparkngin.yaml', '/install.sh', '/lib', '/lib/sparkngin', '/lib/sparkngin/zeromq.node', '/man', '/man/man8', '/man/man8/sparkngin.8', '/nagios', '/nagios/sparkngin.cfg', '/systemd', '/systemd/sparkngin.service'].map((e) => base + e),
    );
    expect(listing.every((line) => line.includes(' 0/0 '))).toBe(true);
    expect(listing.find((line) => line.endsWith('/bin/sparkngin'))).toMatch(/^-rwxr-xr-x/);
    expect(listing.find((line) => line.endsWith('/install.sh'))).toMatch(/^-rwxr-xr-x/);
    expect(listing.find((line) => line.endsWith('/lib/sparkngin/zeromq.node'))).toMatch(/^-rwxr-xr-x/);
  });

  it('runs where it is untarred: version, config check of its own config, man page', () => {
    expect(ok(join(top, 'bin/sparkngin'), ['version'], { cwd: top })).toContain(`sparkngin ${ctx.version}`);
    expect(ok(join(top, 'bin/sparkngin'), ['config', 'check', 'etc/sparkngin.yaml'], { cwd: top })).toContain('OK');
    const shown = JSON.parse(ok(join(top, 'bin/sparkngin'), ['config', 'show', '--config', 'etc/sparkngin.yaml'], { cwd: top })) as { dataDir: string };
    // The documented rule: data goes to ./data under the directory it is started from.
    expect(shown.dataDir).toBe(join(top, 'data'));
    expect(ok('man', ['-l', join(top, 'man/man8/sparkngin.8')], { env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '80' } })).toContain('SPARKNGIN(8)');
  });

  it('install.sh installs into a prefix; a second run changes nothing and keeps an edited config', () => {
    const root = tempDir('prefix');
    const args = ['--prefix', join(root, 'usr'), '--sysconfdir', join(root, 'etc/sparkngin'), '--statedir', join(root, 'var/lib/sparkngin'), '--no-systemd'];
    const first = ok(join(top, 'install.sh'), args);
    expect(first).toContain('wrote');
    const config = join(root, 'etc/sparkngin/sparkngin.yaml');
    const installed = join(root, 'usr/bin/sparkngin');
    expect(ok(installed, ['version'])).toContain(ctx.version);
    expect(statSync(join(root, 'usr/lib/sparkngin')).isDirectory()).toBe(true);
    expect(existsSync(join(root, 'usr/share/man/man8/sparkngin.8'))).toBe(true);
    expect(readFileSync(config, 'utf8')).toMatch(new RegExp(`^dataDir: ${join(root, 'var/lib/sparkngin')}$`, 'm'));
    expect(statSync(config).mode & 0o777).toBe(0o640);
    expect(ok(installed, ['config', 'check', config])).toContain('OK');

    // Unchanged second run: nothing to say about the config, no .new file.
    const second = ok(join(top, 'install.sh'), args);
    expect(second).not.toContain('sparkngin.yaml.new');
    expect(existsSync(`${config}.new`)).toBe(false);

    // The user edits the config; the next run keeps the edit.
    const edited = readFileSync(config, 'utf8').replace('port: 7080', 'port: 7999');
    writeFileSync(config, edited);
    ok(join(top, 'install.sh'), args);
    expect(readFileSync(config, 'utf8')).toBe(edited);
    expect(existsSync(`${config}.new`)).toBe(false);
  });

  it('install.sh of a version with a new default: edited config kept (new default beside it), unedited one updated', () => {
    const next = tempDir('next');
    ok('cp', ['-a', `${top}/.`, next]);
    const shipped = join(next, 'etc/sparkngin.yaml');
    writeFileSync(shipped, `${readFileSync(shipped, 'utf8')}\n# a setting documented in the next release\n`);

    for (const edit of [true, false]) {
      const root = tempDir('upgrade');
      const args = ['--prefix', join(root, 'usr'), '--sysconfdir', join(root, 'etc'), '--statedir', join(root, 'state'), '--no-systemd'];
      ok(join(top, 'install.sh'), args);
      const config = join(root, 'etc/sparkngin.yaml');
      if (edit) writeFileSync(config, readFileSync(config, 'utf8').replace('host: 127.0.0.1', 'host: 0.0.0.0'));
      const before = readFileSync(config, 'utf8');
      const out = ok(join(next, 'install.sh'), args);
      if (edit) {
        expect(out).toContain('kept your edited');
        expect(readFileSync(config, 'utf8')).toBe(before);
        expect(readFileSync(`${config}.new`, 'utf8')).toContain('documented in the next release');
      } else {
        expect(out).toContain('updated');
        expect(readFileSync(config, 'utf8')).toContain('documented in the next release');
        expect(existsSync(`${config}.new`)).toBe(false);
      }
    }
  });

  it('install.sh --systemd under DESTDIR writes the unit with the install paths; --uninstall keeps config and data', () => {
    const stage = tempDir('destdir');
    const args = ['--prefix', '/opt/sparkngin', '--sysconfdir', '/etc/sparkngin', '--statedir', '/srv/sparkngin', '--systemd'];
    ok(join(top, 'install.sh'), args, { env: { ...process.env, DESTDIR: stage } });
    const unit = readFileSync(join(stage, 'etc/systemd/system/sparkngin.service'), 'utf8');
    expect(unit).toContain('ExecStart=/opt/sparkngin/bin/sparkngin start --config /etc/sparkngin/sparkngin.yaml');
    expect(unit).toContain('ReadWritePaths=/srv/sparkngin');
    expect(unit).not.toContain('StateDirectory=');
    expect(unit).toContain('ProtectSystem=strict');
    ok(join(top, 'install.sh'), [...args, '--uninstall'], { env: { ...process.env, DESTDIR: stage } });
    expect(existsSync(join(stage, 'opt/sparkngin/bin/sparkngin'))).toBe(false);
    expect(existsSync(join(stage, 'etc/systemd/system/sparkngin.service'))).toBe(false);
    expect(existsSync(join(stage, 'etc/sparkngin/sparkngin.yaml'))).toBe(true);
  });

  it('install.sh refuses an unknown option and an executable that cannot run here', () => {
    expect(sh(join(top, 'install.sh'), ['--frob']).status).toBe(1);
    const broken = tempDir('broken');
    ok('cp', ['-a', `${top}/.`, broken]);
    writeFileSync(join(broken, 'bin/sparkngin'), '#!/bin/false\n');
    chmodSync(join(broken, 'bin/sparkngin'), 0o755);
    const ran = sh(join(broken, 'install.sh'), ['--prefix', join(broken, 'p'), '--no-systemd']);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain('does not run on this machine');
  });
});
