// A throw-away certificate authority for tests, made at test time by Debian's openssl: a CA, and
// leaf certificates it signs for servers (subject alternative names 127.0.0.1, ::1 and localhost)
// and clients (a common name). Keys are P-256 EC in PKCS#8 PEM, which Node, curl and Kafka's PEM
// key stores (Kafka ≥ 2.7) all read. Nothing is cached: every test run has its own CA, so no
// certificate outlives the test that trusts it.
//
//   const ca = await makeTestCa(dir);
//   const server = await ca.issue('server');          // .cert, .key (file paths), .certPem, .keyPem
//   const client = await ca.issue('client-1', { client: true });
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCert {
  name: string;
  /** Path of the certificate (PEM). */
  cert: string;
  /** Path of the private key (PKCS#8 PEM, unencrypted). */
  key: string;
  certPem: string;
  keyPem: string;
}

export interface TestCa {
  dir: string;
  /** Path of the CA certificate (PEM): what clients and servers trust. */
  cert: string;
  certPem: string;
  /** A leaf certificate signed by this CA; `name` is its CN and file name. */
  issue(name: string, options?: { client?: boolean; days?: number }): Promise<IssuedCert>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${stderr ?? (error as Error).message}`);
  }
}

/** A new CA in `dir` (its name says which test made it). */
export async function makeTestCa(dir: string, name = 'Sparkngin Test CA'): Promise<TestCa> {
  const cert = join(dir, 'ca.pem');
  const key = join(dir, 'ca.key');
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  const certPem = await readFile(cert, 'utf8');
  let serial = 0;
  return {
    dir,
    cert,
    certPem,
    async issue(leaf, options = {}) {
      const base = join(dir, leaf);
      const extensions = [
        'basicConstraints=critical,CA:FALSE',
        `extendedKeyUsage=${options.client ? 'clientAuth' : 'serverAuth,clientAuth'}`,
        ...(options.client ? [] : ['subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost']),
      ];
      await writeFile(`${base}.ext`, `${extensions.join('\n')}\n`);
      await openssl(['req', '-new', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${leaf}`], dir);
      await openssl(
        ['x509', '-req', '-in', `${base}.csr`, '-CA', cert, '-CAkey', key, '-set_serial', String(Date.now() * 100 + ++serial), '-days', String(options.days ?? 1), '-extfile', `${base}.ext`, '-out', `${base}.pem`],
        dir,
      );
      return { name: leaf, cert: `${base}.pem`, key: `${base}.key`, certPem: await readFile(`${base}.pem`, 'utf8'), keyPem: await readFile(`${base}.key`, 'utf8') };
    },
  };
}
