// The OpenPGP key that signs packages and repository metadata.
//
// A release supplies the real key by environment: SPARKNGIN_GPG_PRIVATE_KEY (the armored secret
// key itself) or SPARKNGIN_GPG_KEY_FILE (a path to it), and SPARKNGIN_GPG_PASSPHRASE if it has one.
// Without them (CI, a developer's build) a throwaway key is made once in build/dist-work/gnupg, so
// repeated builds publish the same key and tests can sign an upgrade with it. RSA 3072 with SHA-256
// digests: EL 9 refuses SHA-1 signatures, and EL 8's rpm cannot verify EdDSA ones.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from './context';
import { requireTools, run } from './exec';

export interface Signer {
  gnupgHome: string;
  fingerprint: string;
  /** Armored public key, what users import. */
  publicKey: string;
  /** Whether this is the throwaway CI key (the build log says so loudly). */
  ephemeral: boolean;
  passphraseFile?: string;
}

export function signer(ctx: Context): Signer {
  requireTools('signing', { gpg: 'gnupg' });
  const supplied = process.env.SPARKNGIN_GPG_PRIVATE_KEY ?? (process.env.SPARKNGIN_GPG_KEY_FILE ? readFileSync(process.env.SPARKNGIN_GPG_KEY_FILE, 'utf8') : undefined);
  if (supplied !== undefined) {
    const home = mkdtempSync(join(ctx.work, 'gnupg-release-'));
    const passphraseFile = process.env.SPARKNGIN_GPG_PASSPHRASE === undefined ? undefined : join(home, 'passphrase');
    if (passphraseFile) writeFileSync(passphraseFile, process.env.SPARKNGIN_GPG_PASSPHRASE ?? '', { mode: 0o600 });
    gpg(home, ['--import'], supplied);
    return describe(home, false, passphraseFile);
  }
  const home = join(ctx.work, 'gnupg');
  if (!existsSync(join(home, 'pubring.kbx')) || gpg(home, ['--list-secret-keys', '--with-colons']).trim() === '') {
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home, { recursive: true, mode: 0o700 });
    ctx.log('signing: making a throwaway CI key (set SPARKNGIN_GPG_PRIVATE_KEY for a release)');
    gpg(home, ['--quick-generate-key', '--passphrase', '', 'Sparkngin CI (throwaway, not for release) <ci@sparkngin.invalid>', 'rsa3072', 'sign', '1y']);
  }
  return describe(home, true);
}

function describe(home: string, ephemeral: boolean, passphraseFile?: string): Signer {
  const listing = gpg(home, ['--list-secret-keys', '--with-colons']);
  const fingerprint = listing.split('\n').find((line) => line.startsWith('fpr:'))?.split(':')[9];
  if (!fingerprint) throw new Error('signing: the key has no secret part (import the secret key, not the public one)');
  const publicKey = gpg(home, ['--armor', '--export', fingerprint]);
  return { gnupgHome: home, fingerprint, publicKey, ephemeral, ...(passphraseFile ? { passphraseFile } : {}) };
}

export function gpg(home: string, args: string[], input?: string): string {
  return run('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', ...args], input === undefined ? {} : { input });
}

/** Signs RPMs in place (rpm --addsign): header signature, SHA-256. */
export function signRpms(key: Signer, files: string[]): void {
  if (files.length === 0) return;
  const extra = key.passphraseFile ? `--pinentry-mode loopback --passphrase-file ${key.passphraseFile}` : '--pinentry-mode loopback --passphrase ""';
  run('rpm', [
    '--define', `_gpg_name ${key.fingerprint}`,
    '--define', `_gpg_path ${key.gnupgHome}`,
    // Debian's rpm does not know where gpg is.
    '--define', '__gpg /usr/bin/gpg',
    '--define', '_gpg_digest_algo sha256',
    '--define', `_gpg_sign_cmd_extra_args --batch ${extra}`,
    '--addsign',
    ...files,
  ]);
}

/** Detached armored signature FILE.asc, what dnf's repo_gpgcheck fetches for repomd.xml. */
export function signDetached(key: Signer, file: string): void {
  const passphrase = key.passphraseFile ? ['--passphrase-file', key.passphraseFile] : ['--passphrase', ''];
  gpg(key.gnupgHome, [...passphrase, '--local-user', key.fingerprint, '--digest-algo', 'SHA256', '--armor', '--detach-sign', '--output', `${file}.asc`, file]);
}
