// Step 10, apt: dist/apt/, a signed apt repository (one suite, `stable`, component `main`):
//   pool/main/s/sparkngin/*.deb
//   dists/stable/{Release,InRelease,Release.gpg}, dists/stable/main/binary-ARCH/Packages{,.gz}
//   sparkngin-archive-keyring.gpg (binary, for Signed-By) and .asc, sparkngin.sources (deb822)
// Metadata by apt-ftparchive (apt-utils); signed with the same key as the yum repository.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context';
import { requireTools, run } from '../exec';
import { gpg, type Signer, signer } from '../signing';
import { debArch } from './deb';
import type { Step } from './step';

export const KEYRING = '/usr/share/keyrings/sparkngin-archive-keyring.gpg';

export const aptRepo: Step = {
  name: 'apt',
  produces: 'dist/apt/ (signed apt repository)',
  os: ['linux'],
  run(ctx) {
    requireTools('apt', { 'apt-ftparchive': 'apt-utils' });
    const key = signer(ctx);
    const root = join(ctx.dist, 'apt');
    rmSync(root, { recursive: true, force: true });
    const pool = join(root, 'pool/main/s/sparkngin');
    mkdirSync(pool, { recursive: true });
    for (const file of readdirSync(join(ctx.dist, 'deb'))) copyFileSync(join(ctx.dist, 'deb', file), join(pool, file));
    writeFileSync(join(root, 'sparkngin-archive-keyring.gpg'), gpgBinary(key));
    writeFileSync(join(root, 'sparkngin-archive-keyring.asc'), key.publicKey);
    writeFileSync(join(root, 'sparkngin.sources'), sourcesFile(ctx.aptUrl));
    indexApt(ctx, key, root);
  },
};

export function sourcesFile(url: string): string {
  return `Types: deb\nURIs: ${url.replace(/\/+$/, '')}\nSuites: stable\nComponents: main\nSigned-By: ${KEYRING}\n`;
}

/** (Re)writes the Packages indexes and the signed Release files. Exported for tests that change the pool. */
export function indexApt(ctx: Context, key: Signer, root: string): void {
  const suite = join(root, 'dists/stable');
  rmSync(suite, { recursive: true, force: true });
  const arches = ctx.targets.map(debArch);
  for (const arch of arches) {
    const dir = join(suite, 'main', `binary-${arch}`);
    mkdirSync(dir, { recursive: true });
    const packages = run('apt-ftparchive', ['--arch', arch, 'packages', 'pool'], { cwd: root });
    writeFileSync(join(dir, 'Packages'), packages);
    run('gzip', ['-9nkf', join(dir, 'Packages')]);
  }
  const release = run(
    'apt-ftparchive',
    [
      '-o', 'APT::FTPArchive::Release::Origin=Sparkngin',
      '-o', 'APT::FTPArchive::Release::Label=Sparkngin',
      '-o', 'APT::FTPArchive::Release::Suite=stable',
      '-o', 'APT::FTPArchive::Release::Codename=stable',
      '-o', `APT::FTPArchive::Release::Architectures=${arches.join(' ')}`,
      '-o', 'APT::FTPArchive::Release::Components=main',
      'release', '.',
    ],
    { cwd: suite },
  );
  writeFileSync(join(suite, 'Release'), release);
  const passphrase = key.passphraseFile ? ['--passphrase-file', key.passphraseFile] : ['--passphrase', ''];
  gpg(key.gnupgHome, [...passphrase, '--local-user', key.fingerprint, '--digest-algo', 'SHA256', '--clearsign', '--output', join(suite, 'InRelease'), join(suite, 'Release')]);
  gpg(key.gnupgHome, [...passphrase, '--local-user', key.fingerprint, '--digest-algo', 'SHA256', '--armor', '--detach-sign', '--output', join(suite, 'Release.gpg'), join(suite, 'Release')]);
}

function gpgBinary(key: Signer): Buffer {
  const file = join(key.gnupgHome, 'export.gpg');
  gpg(key.gnupgHome, ['--output', file, '--export', key.fingerprint]);
  return readFileSync(file);
}
