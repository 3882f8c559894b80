// repo/setup.sh (as published in dist/repo) against fake os-release files: EL 8 and 9 (and their
// rebuilds) get the right .repo and the key; everything else gets a clear refusal and no change.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../packaging/context';
import { repoDir } from '../../packaging/steps/repo';
import { DIST_TIMEOUT_MS, elRpmEnv, ensureDist, ok, sh, tempDir } from './helpers';

let ctx: Context;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  ctx = ensureDist();
  env = elRpmEnv();
}, DIST_TIMEOUT_MS);

const osRelease = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([key, value]) => `${key}="${value}"`)
    .join('\n');

function runSetup(release: string | undefined, arch = 'x86_64', extraEnv: NodeJS.ProcessEnv = {}) {
  const root = tempDir('setup');
  const file = join(tempDir('osr'), 'os-release');
  if (release !== undefined) writeFileSync(file, `${release}\n`);
  const ran = sh('sh', [join(repoDir(ctx), 'setup.sh')], {
    env: { ...env, SPARKNGIN_ROOT: root, SPARKNGIN_OS_RELEASE: file, SPARKNGIN_ARCH: arch, SPARKNGIN_REPO_URL: `file://${repoDir(ctx)}`, ...extraEnv },
  });
  return { ...ran, root, repoFile: join(root, 'etc/yum.repos.d/sparkngin.repo') };
}

const SUPPORTED: Array<[name: string, el: string, osRelease: string]> = [
  ['RHEL 8.10', 'el8', osRelease({ NAME: 'Red Hat Enterprise Linux', ID: 'rhel', ID_LIKE: 'fedora', VERSION_ID: '8.10', PRETTY_NAME: 'Red Hat Enterprise Linux 8.10 (Ootpa)' })],
  ['Rocky 9.4', 'el9', osRelease({ NAME: 'Rocky Linux', ID: 'rocky', ID_LIKE: 'rhel centos fedora', VERSION_ID: '9.4', PRETTY_NAME: 'Rocky Linux 9.4 (Blue Onyx)' })],
  ['CentOS Stream 9', 'el9', osRelease({ NAME: 'CentOS Stream', ID: 'centos', ID_LIKE: 'rhel fedora', VERSION_ID: '9', PRETTY_NAME: 'CentOS Stream 9' })],
  ['AlmaLinux 8.9', 'el8', osRelease({ NAME: 'AlmaLinux', ID: 'almalinux', ID_LIKE: 'rhel centos fedora', VERSION_ID: '8.9', PRETTY_NAME: 'AlmaLinux 8.9 (Midnight Oncilla)' })],
  ['Oracle Linux 9.3', 'el9', `NAME="Oracle Linux Server"\nID="ol"\nID_LIKE="fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Oracle Linux Server 9.3"`],
];

describe('setup.sh', () => {
  it.each(SUPPORTED)('%s: the %s repository and the signing key', (_name, el, release) => {
    const ran = runSetup(release);
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain(`${el}/x86_64`);
    const repoFile = readFileSync(ran.repoFile, 'utf8');
    expect(repoFile).toContain(`baseurl=file://${repoDir(ctx)}/${el}/$basearch`);
    expect(repoFile).toMatch(/^gpgcheck=1$/m);
    expect(repoFile).toMatch(/^repo_gpgcheck=1$/m);
    expect(repoFile).toContain('gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-sparkngin');
    expect(readFileSync(join(ran.root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-sparkngin'), 'utf8')).toBe(readFileSync(join(repoDir(ctx), 'RPM-GPG-KEY-sparkngin'), 'utf8'));
    expect(ok('rpm', ['--root', ran.root, '-q', 'gpg-pubkey', '--qf', '%{SUMMARY}\n'], { env })).toContain('Sparkngin');
  });

  it('writes the same .repo the repository publishes for manual setup', () => {
    expect(ok('sh', [join(repoDir(ctx), 'setup.sh'), '--print-repo', 'el9'])).toBe(readFileSync(join(repoDir(ctx), 'el9/sparkngin.repo'), 'utf8'));
    expect(ok('sh', [join(repoDir(ctx), 'setup.sh'), '--print-repo', 'el8'])).toBe(readFileSync(join(repoDir(ctx), 'el8/sparkngin.repo'), 'utf8'));
  });

  it('aarch64 machines get the same repository (dnf picks the arch via $basearch)', () => {
    const ran = runSetup(SUPPORTED[1]![2], 'aarch64');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain('el9/aarch64');
  });

  it('running it twice changes nothing', () => {
    const first = runSetup(SUPPORTED[0]![2]);
    const file = join(tempDir('osr'), 'os-release');
    writeFileSync(file, SUPPORTED[0]![2]);
    const before = readFileSync(first.repoFile, 'utf8');
    const second = sh('sh', [join(repoDir(ctx), 'setup.sh')], {
      env: { ...env, SPARKNGIN_ROOT: first.root, SPARKNGIN_OS_RELEASE: file, SPARKNGIN_ARCH: 'x86_64', SPARKNGIN_REPO_URL: `file://${repoDir(ctx)}` },
    });
    expect(second.status).toBe(0);
    expect(readFileSync(first.repoFile, 'utf8')).toBe(before);
    expect(ok('rpm', ['--root', first.root, '-q', 'gpg-pubkey'], { env }).trim().split('\n')).toHaveLength(1);
  });

  const REFUSED: Array<[string, string | undefined, string, RegExp]> = [
    ['Debian 12', osRelease({ NAME: 'Debian GNU/Linux', ID: 'debian', VERSION_ID: '12', PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)' }), 'x86_64', /Debian GNU\/Linux 12 \(bookworm\) is not supported.*tarball/],
    ['Fedora 40', osRelease({ NAME: 'Fedora Linux', ID: 'fedora', VERSION_ID: '40', PRETTY_NAME: 'Fedora Linux 40' }), 'x86_64', /Fedora Linux 40 is not supported/],
    ['Amazon Linux 2023', osRelease({ NAME: 'Amazon Linux', ID: 'amzn', ID_LIKE: 'fedora', VERSION_ID: '2023', PRETTY_NAME: 'Amazon Linux 2023' }), 'x86_64', /not supported/],
    ['CentOS 7', osRelease({ NAME: 'CentOS Linux', ID: 'centos', ID_LIKE: 'rhel fedora', VERSION_ID: '7', PRETTY_NAME: 'CentOS Linux 7 (Core)' }), 'x86_64', /too old: Sparkngin needs glibc 2\.28/],
    ['RHEL 10', osRelease({ NAME: 'Red Hat Enterprise Linux', ID: 'rhel', VERSION_ID: '10.0', PRETTY_NAME: 'Red Hat Enterprise Linux 10.0' }), 'x86_64', /has no Sparkngin repository yet/],
    ['EL 9 on ppc64le', osRelease({ ID: 'rhel', VERSION_ID: '9.4', PRETTY_NAME: 'RHEL 9.4' }), 'ppc64le', /no packages for the ppc64le architecture/],
    ['no os-release', undefined, 'x86_64', /cannot read .*os-release/],
  ];

  it.each(REFUSED)('%s: a clear refusal, nothing written', (_name, release, arch, message) => {
    const ran = runSetup(release, arch);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toMatch(/^sparkngin setup: /);
    expect(ran.stderr).toMatch(message);
    expect(existsSync(ran.repoFile)).toBe(false);
    expect(existsSync(join(ran.root, 'etc/pki'))).toBe(false);
  });

  it('a key URL that is not a key is refused', () => {
    const fake = tempDir('fakerepo');
    writeFileSync(join(fake, 'RPM-GPG-KEY-sparkngin'), '<html>not found</html>\n');
    const ran = runSetup(SUPPORTED[0]![2], 'x86_64', { SPARKNGIN_REPO_URL: `file://${fake}` });
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain('is not an OpenPGP public key');
    expect(existsSync(ran.repoFile)).toBe(false);
  });
});
