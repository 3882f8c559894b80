// The RPMs read back: headers, files with their modes and owners, scriptlets, dependencies, the
// executable byte for byte, signatures (rpm -K) and rpmlint; and the systemd unit they carry.
import { createHash } from 'node:crypto';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { renderUnit } from '../../packaging/render';
import { repoDir } from '../../packaging/steps/repo';
import { rpmArch, rpmPath } from '../../packaging/steps/rpm';
import { EL_RELEASES, TARGETS as ALL_TARGETS } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, ROOT, sh, tempDir } from './helpers';

let ctx: Context;
const TARGETS = ALL_TARGETS.filter((target) => target.os === 'linux');
const query = (file: string, format: string) => ok('rpm', ['-qp', '--nosignature', '--qf', format, file]);
const signed = (el: string, arch: string) => join(repoDir(ctx), el, arch, 'Packages', `sparkngin-${ctx.version.replace('-', '~')}-1.${el}.${arch}.rpm`);

beforeAll(() => {
  ctx = ensureDist();
}, DIST_TIMEOUT_MS);

describe('rpm', () => {
  it('one package per EL release and architecture, with the right headers', () => {
    for (const target of TARGETS) {
      for (const el of EL_RELEASES) {
        const file = rpmPath(ctx, target, el);
        expect(query(file, '%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{OS}')).toBe(`sparkngin|${ctx.version.replace('-', '~')}|1.${el}|${rpmArch(target)}|Apache-2.0|linux`);
        expect(query(file, '%{PAYLOADCOMPRESSOR}')).toBe('xz');
      }
    }
  });

  it('files, modes, owners and %config(noreplace)', () => {
    const file = rpmPath(ctx, TARGETS[0]!, 'el9');
    const rows = query(file, '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]').trim().split('\n');
    const byPath = new Map(rows.map((row) => [row.split(' ').pop()!, row]));
    expect([...byPath.keys()].sort()).toEqual(
      [
        '/etc/sparkngin',
        '/etc/sparkngin/sparkngin.yaml',
        '/usr/bin/sparkngin',
        '/usr/lib/sparkngin',
        '/usr/lib/sparkngin/zeromq.node',
        '/usr/lib/systemd/system/sparkngin.service',
        '/usr/lib/sysusers.d/sparkngin.conf',
        '/usr/share/doc/sparkngin',
        '/usr/share/doc/sparkngin/GUIDE.md',
        '/usr/share/licenses/sparkngin',
        '/usr/share/licenses/sparkngin/LICENSE',
        '/usr/share/man/man8/sparkngin.8.gz',
        '/usr/share/sparkngin',
        '/usr/share/sparkngin/nagios',
        '/usr/share/sparkngin/nagios/sparkngin.cfg',
        '/var/lib/sparkngin',
      ].sort(),
    );
    expect(byPath.get('/etc/sparkngin/sparkngin.yaml')).toMatch(/^-rw-r----- root:sparkngin cn /);
    expect(byPath.get('/etc/sparkngin')).toMatch(/^drwxr-x--- root:sparkngin /);
    expect(byPath.get('/var/lib/sparkngin')).toMatch(/^drwxr-x--- sparkngin:sparkngin /);
    expect(byPath.get('/usr/bin/sparkngin')).toMatch(/^-rwxr-xr-x root:root /);
  });

  it('carries the executable unchanged (never stripped: that would crash it)', () => {
    for (const target of TARGETS) {
      const digest = createHash('sha256').update(readFileSync(names.binary(ctx, target))).digest('hex');
      const rows = query(rpmPath(ctx, target, 'el8'), '[%{FILEDIGESTS} %{FILENAMES}\n]');
      expect(rows).toContain(`${digest} /usr/bin/sparkngin`);
    }
  });

  it('the packaged config points at /var/lib/sparkngin and listens on loopback', () => {
    const dir = tempDir('rpmx');
    ok('sh', ['-c', `rpm2cpio "$1" | cpio -idm --quiet ./etc/sparkngin/sparkngin.yaml ./usr/lib/systemd/system/sparkngin.service`, 'sh', rpmPath(ctx, TARGETS[0]!, 'el9')], { cwd: dir });
    const config = readFileSync(join(dir, 'etc/sparkngin/sparkngin.yaml'), 'utf8');
    expect(config).toMatch(/^dataDir: \/var\/lib\/sparkngin$/m);
    expect(config).toMatch(/^ {2}host: 127\.0\.0\.1$/m);
    const unit = readFileSync(join(dir, 'usr/lib/systemd/system/sparkngin.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/sparkngin start --config /etc/sparkngin/sparkngin.yaml');
    for (const line of ['User=sparkngin', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'StateDirectory=sparkngin', 'Environment=MALLOC_ARENA_MAX=2']) expect(unit).toContain(line);
  });

  it('scriptlets: user in %pre; preset on install, try-restart on upgrade, disable --now on erase', () => {
    const scripts = ok('rpm', ['-qp', '--nosignature', '--scripts', rpmPath(ctx, TARGETS[0]!, 'el9')]);
    expect(scripts).toMatch(/preinstall scriptlet[\s\S]*useradd -r -g sparkngin -d \/var\/lib\/sparkngin -s \/sbin\/nologin/);
    expect(scripts).toMatch(/postinstall scriptlet[\s\S]*\$1 -eq 1[\s\S]*preset sparkngin\.service/);
    expect(scripts).toMatch(/preuninstall scriptlet[\s\S]*\$1 -eq 0[\s\S]*disable --now sparkngin\.service/);
    expect(scripts).toMatch(/postuninstall scriptlet[\s\S]*daemon-reload[\s\S]*\$1 -ge 1[\s\S]*try-restart sparkngin\.service/);
  });

  it('requires glibc 2.28 at most (installs on EL 8), shadow-utils and systemd for the scriptlets', () => {
    for (const target of TARGETS) {
      const requires = ok('rpm', ['-qp', '--nosignature', '--requires', rpmPath(ctx, target, 'el8')]);
      const versions = [...requires.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => Number(m[1]) * 1000 + Number(m[2]));
      expect(Math.max(...versions)).toBe(2028);
      expect(requires).toContain('shadow-utils');
      expect(requires).toContain('systemd');
    }
  });

  it('published packages are signed: rpm -K verifies them with the published key', () => {
    const db = tempDir('rpmdb');
    ok('rpm', ['--dbpath', db, '--import', join(repoDir(ctx), 'RPM-GPG-KEY-sparkngin')]);
    for (const target of TARGETS) {
      for (const el of EL_RELEASES) {
        const out = ok('rpm', ['--dbpath', db, '-Kv', signed(el, rpmArch(target))]);
        expect(out).toMatch(/Header V4 RSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
        expect(out).not.toMatch(/NOKEY|BAD|NOT OK/);
      }
    }
    // Without the key the signature cannot be checked, and rpm says no; unsigned ones have none.
    const unknown = sh('rpm', ['--dbpath', tempDir('nokey'), '-K', signed('el9', 'x86_64')]);
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toContain('SIGNATURES NOT OK');
    expect(sh('rpm', ['--dbpath', db, '-Kv', rpmPath(ctx, TARGETS[0]!, 'el9')]).stdout).not.toMatch(/Signature/);
  });

  // Each remaining rpmlint message and why it stays (packaging/rpmlint.toml has the EL settings).
  const EXPECTED_RPMLINT: Record<string, string> = {
    'W: position-independent-executable-suggested /usr/bin/sparkngin': "Node's official Linux binaries are built without PIE; we ship them as they are.",
    'W: unstripped-binary-or-object /usr/lib/sparkngin/zeromq.node': "zeromq's prebuilt addon, shipped byte for byte as its npm package publishes it (its symbols are 0.3 of its 2 MB).",
    'W: non-standard-uid /var/lib/sparkngin sparkngin': 'The data directory belongs to the service user, created in %pre.',
    'W: non-standard-gid /var/lib/sparkngin sparkngin': 'Same.',
    'W: non-standard-gid /etc/sparkngin sparkngin': 'The service user reads its config through the group; others do not (credentials go there).',
    'W: non-standard-gid /etc/sparkngin/sparkngin.yaml sparkngin': 'Same.',
    'E: non-standard-dir-perm /etc/sparkngin 750': 'On purpose: the config may hold broker credentials.',
    'E: non-standard-dir-perm /var/lib/sparkngin 750': 'On purpose: the spool holds the events users sent.',
    'E: non-readable /etc/sparkngin/sparkngin.yaml 640': 'On purpose, as above.',
    'W: no-manual-page-for-binary sparkngin': 'rpmlint 2.4 bug: it records man page sections instead of names, so sparkngin.8.gz never matches.',
    'W: binary-or-shlib-calls-gethostbyname /usr/bin/sparkngin': 'Inside Node (c-ares/libuv); name resolution goes through getaddrinfo.',
  };

  it('rpmlint: only the known, explained messages', () => {
    // rpmlint checks the signature against the rpm database of $HOME's macros: give it one that
    // trusts our key.
    const home = tempDir('lint');
    writeFileSync(join(home, '.rpmmacros'), `%_dbpath ${join(home, 'db')}\n`);
    const env = { ...process.env, HOME: home };
    ok('rpm', ['--import', join(repoDir(ctx), 'RPM-GPG-KEY-sparkngin')], { env });
    const ran = sh('rpmlint', ['-c', join(ROOT, 'packaging/rpmlint.toml'), signed('el9', 'x86_64')], { env, timeoutMs: 120_000 });
    const messages = ran.stdout
      .split('\n')
      .filter((line) => /^sparkngin\.\w+: [EW]: /.test(line))
      .map((line) => line.replace(/^sparkngin\.\w+: /, ''))
      .sort();
    expect(messages).toEqual(Object.keys(EXPECTED_RPMLINT).sort());
  }, 120_000);

  it.skipIf(sh('sh', ['-c', 'command -v systemd-analyze']).status !== 0)('the unit passes systemd-analyze verify and is well sandboxed', () => {
    const dir = tempDir('unit');
    symlinkSync(names.binary(ctx, TARGETS[0]!), join(dir, 'sparkngin'));
    const unit = join(dir, 'sparkngin.service');
    writeFileSync(unit, renderUnit(readFileSync(join(ROOT, 'packaging/assets/sparkngin.service'), 'utf8'), dir, '/etc/sparkngin'));
    const verify = sh('systemd-analyze', ['verify', '--man=no', unit]);
    expect(verify.stderr.trim()).toBe('');
    expect(verify.status).toBe(0);
    const security = sh('systemd-analyze', ['security', '--offline=yes', unit]);
    const exposure = Number(/Overall exposure level for sparkngin\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(3);
  });
});
