// The .deb and the signed apt repository, installed the way a Debian user does it, into a real
// Debian 12 root made by debootstrap (minbase, cached as a tar in ${SPARKNGIN_CACHE}: made once,
// ~40 s, from the machine's Debian mirror): install with the system user and ownership, upgrade
// keeping an edited conffile, remove; a tampered or unsigned Release is refused.
import { appendFileSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context } from '../../packaging/context';
import { signer } from '../../packaging/signing';
import { indexApt, KEYRING } from '../../packaging/steps/apt-repo';
import { buildDeb, debFileName } from '../../packaging/steps/deb';
import { renderConfig } from '../../packaging/render';
import { targetByName } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, ROOT, sh, tempDir } from './helpers';
import { zeromqRoundTrip } from './zeromq-round-trip';

const X64 = targetByName('linux-x64');
let ctx: Context;
let baseTar: string;

/** The debootstrap root as a tar in the cache (built under a lock: test files run in parallel). */
function debianBase(): string {
  const file = join(ctx.cache, 'debootstrap-bookworm-minbase.tar');
  if (existsSync(file)) return file;
  const sources = sh('sh', ['-c', "grep -hm1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}'"]).stdout.trim();
  const mirror = sources || 'http://deb.debian.org/debian';
  const script = `[ -e "$1" ] && exit 0; d=$(mktemp -d) && debootstrap --variant=minbase bookworm "$d/root" "$2" >"$d/log" 2>&1 || { tail -20 "$d/log"; exit 1; }; tar -cf "$1.tmp" -C "$d/root" . && mv "$1.tmp" "$1"; rm -rf "$d"`;
  mkdirSync(ctx.cache, { recursive: true });
  ok('flock', [`${file}.lock`, 'sh', '-c', script, 'sh', file, mirror], { timeoutMs: 300_000 });
  return file;
}

beforeAll(() => {
  ctx = ensureDist();
  baseTar = debianBase();
}, DIST_TIMEOUT_MS + 300_000);

interface DebRoot {
  dir: string;
  repo: string;
  chroot(...args: string[]): ReturnType<typeof sh>;
  read(path: string): string;
}

/** A fresh Debian root that knows only our repository (a copy of dist/apt inside it, file: URI). */
function debRoot(): DebRoot {
  const dir = tempDir('debroot');
  ok('tar', ['-xf', baseTar, '-C', dir]);
  const repo = join(dir, 'srv/sparkngin-apt');
  mkdirSync(repo, { recursive: true });
  ok('cp', ['-a', `${join(ctx.dist, 'apt')}/.`, repo]);
  // As the guide tells users: the keyring for Signed-By, and the sources file (pointing here).
  copyFileSync(join(repo, 'sparkngin-archive-keyring.gpg'), join(dir, KEYRING));
  writeFileSync(join(dir, 'etc/apt/sources.list.d/sparkngin.sources'), readFileSync(join(repo, 'sparkngin.sources'), 'utf8').replace(/^URIs: .*$/m, 'URIs: file:/srv/sparkngin-apt'));
  writeFileSync(join(dir, 'etc/apt/sources.list'), ''); // no network: only our repository
  writeFileSync(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  return {
    dir,
    repo,
    chroot: (...args) => sh('chroot', [dir, ...args], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' }, timeoutMs: 180_000 }),
    read: (path) => readFileSync(join(dir, path), 'utf8'),
  };
}

const done = (ran: ReturnType<typeof sh>) => {
  if (ran.status !== 0) throw new Error(`exit ${ran.status}\n${ran.stdout}\n${ran.stderr}`);
  return ran.stdout;
};

describe('apt repository', () => {
  it('apt installs sparkngin: system user, ownership, conffile; upgrade keeps an edited config; remove', async () => {
    const root = debRoot();
    done(root.chroot('apt-get', 'update'));
    done(root.chroot('apt-get', 'install', '-y', 'sparkngin'));
    expect(done(root.chroot('dpkg-query', '-W', '-f', '${Version} ${Status}', 'sparkngin'))).toBe(`${ctx.version}-1 install ok installed`);
    expect(done(root.chroot('/usr/bin/sparkngin', 'version'))).toContain(`sparkngin ${ctx.version}`);

    const user = /^sparkngin:x:(\d+):(\d+):[^:]*:\/var\/lib\/sparkngin:\/usr\/sbin\/nologin$/m.exec(root.read('etc/passwd'));
    expect(user).not.toBeNull();
    const [uid, gid] = [Number(user![1]), Number(user![2])];
    expect(uid).toBeLessThan(1000);
    const state = statSync(join(root.dir, 'var/lib/sparkngin'));
    expect([state.uid, state.gid, state.mode & 0o777]).toEqual([uid, gid, 0o750]);
    const config = statSync(join(root.dir, 'etc/sparkngin/sparkngin.yaml'));
    expect([config.uid, config.gid, config.mode & 0o777]).toEqual([0, gid, 0o640]);
    expect(done(root.chroot('/usr/bin/sparkngin', 'config', 'check', '/etc/sparkngin/sparkngin.yaml'))).toContain('OK');
    // The installed executable (run from the host, on the root's files) loads the installed ZeroMQ addon.
    await zeromqRoundTrip(join(root.dir, 'usr/bin/sparkngin'));
    // Enabled the Debian way (a symlink; nothing starts in a chroot).
    expect(lstatSync(join(root.dir, 'etc/systemd/system/multi-user.target.wants/sparkngin.service')).isSymbolicLink()).toBe(true);

    // Edited config, then revision 2 with a changed default: dpkg keeps the edit (--force-confold,
    // what a non-interactive upgrade does) and leaves the new default as .dpkg-dist.
    const edited = root.read('etc/sparkngin/sparkngin.yaml').replace('port: 7080', 'port: 7081');
    writeFileSync(join(root.dir, 'etc/sparkngin/sparkngin.yaml'), edited);
    const newDefault = `${renderConfig(readFileSync(join(ROOT, 'packaging/assets/sparkngin.yaml'), 'utf8'), 'system')}# new in revision 2\n`;
    await buildDeb(ctx, X64, { outDir: join(root.repo, 'pool/main/s/sparkngin'), revision: '2', config: newDefault, uncompressed: true });
    indexApt(ctx, signer(ctx), root.repo);
    done(root.chroot('apt-get', 'update'));
    done(root.chroot('apt-get', 'install', '-y', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', 'sparkngin'));
    expect(done(root.chroot('dpkg-query', '-W', '-f', '${Version}', 'sparkngin'))).toBe(`${ctx.version}-2`);
    expect(root.read('etc/sparkngin/sparkngin.yaml')).toBe(edited);
    expect(root.read('etc/sparkngin/sparkngin.yaml.dpkg-dist')).toBe(newDefault);

    done(root.chroot('apt-get', 'remove', '-y', 'sparkngin'));
    expect(existsSync(join(root.dir, 'usr/bin/sparkngin'))).toBe(false);
    expect(root.read('etc/sparkngin/sparkngin.yaml')).toBe(edited); // conffiles stay until purge
    expect(root.read('etc/passwd')).toContain('sparkngin:x:');
    rmSync(root.dir, { recursive: true, force: true });
    expect(debFileName(ctx, X64, '2')).toBe(`sparkngin_${ctx.version}-2_amd64.deb`);
  }, 240_000);

  it('a tampered Release is refused', () => {
    const root = debRoot();
    const inRelease = join(root.repo, 'dists/stable/InRelease');
    writeFileSync(inRelease, readFileSync(inRelease, 'utf8').replace('Suite: stable', 'Suite: stab1e'));
    const ran = root.chroot('apt-get', 'update');
    expect(ran.stdout + ran.stderr).toMatch(/signatures were invalid|BADSIG|not signed/);
    expect(root.chroot('apt-get', 'install', '-y', 'sparkngin').status).not.toBe(0);
    rmSync(root.dir, { recursive: true, force: true });
  }, 120_000);

  it('an unsigned repository is refused', () => {
    const root = debRoot();
    rmSync(join(root.repo, 'dists/stable/InRelease'));
    rmSync(join(root.repo, 'dists/stable/Release.gpg'));
    appendFileSync(join(root.repo, 'dists/stable/Release'), '');
    const ran = root.chroot('apt-get', 'update');
    expect(ran.stdout + ran.stderr).toMatch(/is not signed/);
    expect(root.chroot('apt-get', 'install', '-y', 'sparkngin').status).not.toBe(0);
    rmSync(root.dir, { recursive: true, force: true });
  }, 120_000);
});
