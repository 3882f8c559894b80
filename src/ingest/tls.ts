// HTTPS on the ingest listener (tls.*): Node's own https server, with the certificate, its key and
// optionally the CA that client certificates must chain to (mutual TLS), all PEM files.
//
// Certificates are renewed often (ACME: every 60 to 90 days), so SIGHUP reads the files again and
// hands them to server.setSecureContext: new connections get the new certificate, open ones keep
// theirs and are never dropped. New files are checked first (readable, the key matches the
// certificate and opens with the passphrase); if they are not usable the old context stays, and
// the failure is logged at error, so a half-copied renewal never takes the listener down.
//
// Node's defaults stand (TLS 1.2 and 1.3, its cipher list): they follow current advice and move
// with Node releases, which a list of our own would not.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Config } from '../config/defaults';
import { TlsFileError } from '../errors';
import type { Logger } from '../ops/log';

type TlsConfig = Config['tls'];

/** What a loaded certificate is, for logs: never the key. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Expiry, ISO 8601. */
  notAfter: string;
  notAfterMs: number;
}

export function tlsEnabled(tls: TlsConfig): boolean {
  return tls.cert !== '';
}

function readPem(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new TlsFileError(`${setting}: cannot read ${file} (${code})`, { cause: error });
  }
}

/** Reads the files of `tls` and checks that they make a usable context. */
export function loadTlsContext(tls: TlsConfig): { context: SecureContextOptions; certificate: CertificateFacts } {
  const cert = readPem('tls.cert', tls.cert);
  const context: SecureContextOptions = { cert, key: readPem('tls.key', tls.key) };
  if (tls.passphrase !== '') context.passphrase = tls.passphrase;
  if (tls.ca !== '') context.ca = readPem('tls.ca', tls.ca);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new TlsFileError(`tls.cert: ${tls.cert} holds no PEM certificate`, { cause: error });
  }
  try {
    createSecureContext(context);
  } catch (error) {
    // OpenSSL's words ("key values mismatch", "bad decrypt") say enough; the passphrase is not in them.
    throw new TlsFileError(`tls.cert, tls.key, tls.ca: not usable together (${(error as Error).message})`, { cause: error });
  }
  const notAfterMs = Date.parse(leaf.validTo);
  return { context, certificate: { subject: leaf.subject.replace(/\n/g, ', '), issuer: leaf.issuer.replace(/\n/g, ', '), notAfter: new Date(notAfterMs).toISOString(), notAfterMs } };
}

/** The certificate each https server serves now (for /metrics: its expiry is worth an alert). */
const served = new WeakMap<object, CertificateFacts>();

/** The certificate `server` serves, if it is one of ours with TLS. */
export function servedCertificate(server: object): CertificateFacts | undefined {
  return served.get(server);
}

/** Warned about at start and reload: time enough to renew before clients start failing. */
const EXPIRY_WARNING_MS = 14 * 24 * 3600_000;

function logCertificate(logger: Logger, event: string, certificate: CertificateFacts): void {
  logger.info(event, { certificate });
  const left = certificate.notAfterMs - Date.now();
  if (left < EXPIRY_WARNING_MS) logger.warn('tls.certificate_expiring', { notAfter: certificate.notAfter, daysLeft: Math.floor(left / 86_400_000) });
}

/** The https server of the ingest: `options` plus the files of `tls` and what to ask of clients (tls.clientCerts). */
export function createTlsServer(options: ServerOptions, tls: TlsConfig, logger: Logger): HttpsServer {
  const { context, certificate } = loadTlsContext(tls);
  logCertificate(logger, 'tls.loaded', certificate);
  const clientCerts: TlsOptions = { requestCert: tls.clientCerts !== 'none', rejectUnauthorized: tls.clientCerts === 'require' };
  // A handshake gets the time the request headers get (Node's default, 120 s, would let a client
  // that connects and says nothing hold its socket for two minutes).
  const server = createServer({ ...options, ...context, ...clientCerts, handshakeTimeout: options.headersTimeout });
  served.set(server, certificate);
  return server;
}

/** SIGHUP: the files again; the old context stays if they are not usable. The new certificate, or undefined. */
export function reloadTls(server: HttpsServer, tls: TlsConfig, logger: Logger): CertificateFacts | undefined {
  try {
    const { context, certificate } = loadTlsContext(tls);
    server.setSecureContext(context);
    served.set(server, certificate);
    logCertificate(logger, 'tls.reloaded', certificate);
    return certificate;
  } catch (error) {
    logger.error('tls.reload_failed', { error, keeping: 'the certificate loaded before' });
    return undefined;
  }
}
