// The signed yum repository as a user meets it: setup.sh (with an EL 9 os-release) adds it to an
// empty root, `dnf --installroot` installs sparkngin from it (importing the key, running %pre),
// upgrades it keeping an edited config, removes it; a tampered repomd.xml and an unsigned package
// are refused.
//
// An empty root has no base system, so a TEST-ONLY package, sparkngin-test-baseos
// (fixtures/baseos.spec), stands in for it: /bin/sh (static busybox), useradd/groupadd/getent
// stand-ins, a systemctl that records its calls, and Provides for the libraries the RPM requires.
// It comes from a separate unsigned test repository; the sparkngin repository is checked in full.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../packaging/context';
import { signer, signRpms } from '../../packaging/signing';
import { indexTree, repoDir } from '../../packaging/steps/repo';
import { buildRpm, rpmPath } from '../../packaging/steps/rpm';
import { renderConfig } from '../../packaging/render';
import { targetByName } from '../../packaging/targets';
import { freePort } from '../peers/ports';
import { DIST_TIMEOUT_MS, elRpmEnv, ensureDist, ok, ROOT, sh, tempDir } from './helpers';
import { zeromqRoundTrip } from './zeromq-round-trip';

const X64 = targetByName('linux-x64');
let ctx: Context;
let env: NodeJS.ProcessEnv;
let baseosRepo: string;

const ROCKY_9 = 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n';

beforeAll(() => {
  ctx = ensureDist();
  env = elRpmEnv();
  // The stand-in base system, providing exactly what the real package requires.
  const work = tempDir('baseos');
  copyFileSync('/usr/bin/busybox', join(work, 'busybox'));
  const provides = ok('rpm', ['-qp', '--nosignature', '--requires', rpmPath(ctx, X64, 'el9')])
    .split('\n')
    .filter((dep) => dep && !/^(rpmlib\(|\/|shadow-utils|systemd)/.test(dep))
    .join('|');
  baseosRepo = join(work, 'repo');
  ok('rpmbuild', ['-bb', '--quiet', '--target', 'x86_64', '--define', `_topdir ${join(work, 'rpmbuild')}`, '--define', `_sourcedir ${work}`, '--define', `_rpmdir ${baseosRepo}`, '--define', `provides ${provides}`, join(ROOT, 'test/dist/fixtures/baseos.spec')]);
  ok('createrepo_c', ['--quiet', baseosRepo]);
}, DIST_TIMEOUT_MS);

/** Polls a URL until it answers; its status, or 0 at the deadline. */
async function readyWithin(url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      return (await fetch(url)).status;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return 0;
}

/** A copy of the published el9/x86_64 tree that a test may change. */
function repoCopy(): string {
  const copy = tempDir('repo');
  ok('cp', ['-a', `${repoDir(ctx)}/.`, copy]);
  return copy;
}

interface Root {
  dir: string;
  dnf(...args: string[]): ReturnType<typeof sh>;
  read(path: string): string;
}

/** An empty root set up the way a user does it: setup.sh against `repoUrl`, plus the test base system. */
function newRoot(repo: string): Root {
  const dir = tempDir('root');
  const osRelease = join(tempDir('osr'), 'os-release');
  writeFileSync(osRelease, ROCKY_9);
  const setup = ok('sh', [join(repo, 'setup.sh')], {
    env: { ...env, SPARKNGIN_ROOT: dir, SPARKNGIN_OS_RELEASE: osRelease, SPARKNGIN_ARCH: 'x86_64', SPARKNGIN_REPO_URL: `file://${repo}` },
  });
  expect(setup).toContain('el9/x86_64');
  writeFileSync(join(dir, 'etc/yum.repos.d/test-baseos.repo'), `[test-baseos]\nname=TEST ONLY base system stand-in\nbaseurl=file://${baseosRepo}\ngpgcheck=0\nrepo_gpgcheck=0\n`);
  const cache = tempDir('dnfcache');
  return {
    dir,
    dnf: (...args) =>
      sh(
        'dnf',
        [
          '-y',
          `--installroot=${dir}`,
          '--releasever=9',
          '--noplugins',
          `--setopt=cachedir=${cache}`,
          '--setopt=install_weak_deps=0',
          // The .repo points at /etc/pki/… as seen from inside the root; dnf reads key URLs from
          // the host, so point it at the same file under the root.
          `--setopt=sparkngin.gpgkey=file://${dir}/etc/pki/rpm-gpg/RPM-GPG-KEY-sparkngin`,
          ...args,
        ],
        { env, timeoutMs: 180_000 },
      ),
    read: (path) => readFileSync(join(dir, path), 'utf8'),
  };
}

describe('yum repository', () => {
  it('layout: key, setup.sh, .repo files, and per-release/arch trees with signed metadata', () => {
    const repo = repoDir(ctx);
    expect(readFileSync(join(repo, 'RPM-GPG-KEY-sparkngin'), 'utf8')).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(readFileSync(join(repo, 'setup.sh'), 'utf8')).toContain(`REPO_URL=\${SPARKNGIN_REPO_URL:-${ctx.repoUrl}}`);
    for (const el of ['el8', 'el9']) {
      const dotRepo = readFileSync(join(repo, el, 'sparkngin.repo'), 'utf8');
      expect(dotRepo).toContain(`baseurl=${ctx.repoUrl}/${el}/$basearch`);
      expect(dotRepo).toMatch(/^gpgcheck=1$/m);
      expect(dotRepo).toMatch(/^repo_gpgcheck=1$/m);
      for (const arch of ['x86_64', 'aarch64']) {
        expect(existsSync(join(repo, el, arch, 'repodata/repomd.xml.asc'))).toBe(true);
        expect(readdirSync(join(repo, el, arch, 'Packages'))).toEqual([`sparkngin-${ctx.version}-1.${el}.${arch}.rpm`]);
        const home = tempDir('gpgv');
        ok('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(repo, 'RPM-GPG-KEY-sparkngin')]);
        ok('gpg', ['--homedir', home, '--batch', '--verify', join(repo, el, arch, 'repodata/repomd.xml.asc'), join(repo, el, arch, 'repodata/repomd.xml')]);
      }
    }
  });

  it('dnf installs sparkngin from it: key import, %pre user, ownership; upgrade keeps an edited config; erase', async () => {
    const repo = repoCopy();
    const root = newRoot(repo);
    const install = root.dnf('install', 'sparkngin');
    expect(install.stderr + install.stdout).toMatch(/Complete!/);
    // The key setup.sh imported is the one the packages are signed with.
    expect(ok('rpm', ['--root', root.dir, '-q', 'gpg-pubkey', '--qf', '%{SUMMARY}\n'], { env })).toContain('Sparkngin');
    expect(ok('rpm', ['--root', root.dir, '-q', 'sparkngin'], { env }).trim()).toBe(`sparkngin-${ctx.version}-1.el9.x86_64`);

    // %pre made the system user, and the files belong to it.
    const passwd = root.read('etc/passwd');
    const user = /^sparkngin:x:(\d+):(\d+):[^:]*:\/var\/lib\/sparkngin:\/sbin\/nologin$/m.exec(passwd);
    expect(user).not.toBeNull();
    expect(root.read('var/log/useradd.args')).toMatch(/^-r -g sparkngin .*sparkngin$/m);
    const uid = Number(user![1]);
    const gid = Number(user![2]);
    const state = statSync(join(root.dir, 'var/lib/sparkngin'));
    expect([state.uid, state.gid, state.mode & 0o777]).toEqual([uid, gid, 0o750]);
    const config = statSync(join(root.dir, 'etc/sparkngin/sparkngin.yaml'));
    expect([config.uid, config.gid, config.mode & 0o777]).toEqual([0, gid, 0o640]);
    expect(ok(join(root.dir, 'usr/bin/sparkngin'), ['version'])).toContain(`sparkngin ${ctx.version}`);
    expect(ok(join(root.dir, 'usr/bin/sparkngin'), ['config', 'check', join(root.dir, 'etc/sparkngin/sparkngin.yaml')])).toContain('OK');
    expect(root.read('var/log/systemctl.calls').trim().split('\n')).toEqual(['--no-reload preset sparkngin.service']);
    // The installed executable serves with the installed config (data dir and port moved aside:
    // this is the host, not the root).
    const port = await freePort();
    const daemon = spawn(join(root.dir, 'usr/bin/sparkngin'), ['start', '--config', join(root.dir, 'etc/sparkngin/sparkngin.yaml'), '--data-dir', tempDir('rpmdata'), '--port', String(port)], { stdio: 'ignore' });
    try {
      expect(await readyWithin(`http://127.0.0.1:${port}/ready`, 20_000)).toBe(200);
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await new Promise((resolve) => daemon.once('exit', resolve))).toBe(0);
    // The installed executable loads the installed ZeroMQ addon (/usr/lib/sparkngin/zeromq.node).
    await zeromqRoundTrip(join(root.dir, 'usr/bin/sparkngin'));

    // The admin edits the config; release 2 ships a changed default.
    const edited = root.read('etc/sparkngin/sparkngin.yaml').replace('host: 127.0.0.1', 'host: 0.0.0.0');
    writeFileSync(join(root.dir, 'etc/sparkngin/sparkngin.yaml'), edited);
    const newDefault = `${renderConfig(readFileSync(join(ROOT, 'packaging/assets/sparkngin.yaml'), 'utf8'), 'system')}# new in release 2\n`;
    const tree = join(repo, 'el9/x86_64');
    const next = await buildRpm(ctx, X64, 'el9', { outDir: join(tree, 'Packages'), release: '2', config: newDefault, uncompressed: true });
    const key = signer(ctx);
    signRpms(key, [next]);
    indexTree(ctx, key, tree);
    const upgrade = root.dnf('--refresh', 'upgrade', 'sparkngin');
    expect(upgrade.stdout + upgrade.stderr).toMatch(/Complete!/);
    expect(ok('rpm', ['--root', root.dir, '-q', 'sparkngin'], { env }).trim()).toBe(`sparkngin-${ctx.version}-2.el9.x86_64`);
    expect(root.read('etc/sparkngin/sparkngin.yaml')).toBe(edited);
    expect(root.read('etc/sparkngin/sparkngin.yaml.rpmnew')).toBe(newDefault);
    expect(root.read('var/log/systemctl.calls')).toContain('try-restart sparkngin.service');

    // Keep the stand-in base system: dnf would remove it as an unneeded dependency.
    const erase = root.dnf('--setopt=clean_requirements_on_remove=0', 'remove', 'sparkngin');
    expect(erase.stdout + erase.stderr).toMatch(/Complete!/);
    expect(root.read('var/log/systemctl.calls')).toContain('--no-reload disable --now sparkngin.service');
    expect(existsSync(join(root.dir, 'usr/bin/sparkngin'))).toBe(false);
    expect(root.read('etc/sparkngin/sparkngin.yaml.rpmsave')).toBe(edited);
    expect(root.read('etc/passwd')).toContain('sparkngin:x:');
    rmSync(root.dir, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  }, 240_000);

  it('a tampered repomd.xml is refused', () => {
    const repo = repoCopy();
    appendFileSync(join(repo, 'el9/x86_64/repodata/repomd.xml'), '\n');
    const root = newRoot(repo);
    const ran = root.dnf('install', 'sparkngin');
    expect(ran.status).not.toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/GPG signature verification error|repomd\.xml GPG/i);
    expect(existsSync(join(root.dir, 'usr/bin/sparkngin'))).toBe(false);
  });

  it('an unsigned package is refused, even in correctly signed metadata', () => {
    const repo = repoCopy();
    const tree = join(repo, 'el9/x86_64');
    for (const file of readdirSync(join(tree, 'Packages'))) rmSync(join(tree, 'Packages', file));
    copyFileSync(rpmPath(ctx, X64, 'el9'), join(tree, 'Packages', `sparkngin-${ctx.version}-1.el9.x86_64.rpm`));
    indexTree(ctx, signer(ctx), tree);
    const root = newRoot(repo);
    const ran = root.dnf('install', 'sparkngin');
    expect(ran.status).not.toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/not signed|GPG check FAILED/i);
    expect(existsSync(join(root.dir, 'usr/bin/sparkngin'))).toBe(false);
  });
});
