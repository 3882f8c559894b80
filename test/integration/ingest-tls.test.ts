// HTTPS on the ingest listener, with a CA made by openssl at test time and real TLS clients (Node's
// https, curl): events over TLS; SIGHUP swaps the certificate for new connections while an open
// keep-alive connection goes on with the old one; a renewal that does not fit is refused and the
// old certificate kept; mutual TLS with client certificates required, their CN mapped to topics;
// files that cannot be used stop the start with a message naming them.
import { execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { Agent, request, type RequestOptions } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../peers/ports';
import { type IssuedCert, makeTestCa, type TestCa } from '../peers/test-ca';
import { BUNDLE, type DaemonProcess, startDaemon } from './daemon-process';

const run = promisify(execFile);

interface Answer {
  status: number;
  body: any;
  /** Serial number of the certificate the server showed on this connection. */
  serial: string;
  reusedSocket: boolean;
}

/** One POST over HTTPS with Node's client. */
function post(url: string, path: string, body: string, options: RequestOptions & { headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', ...options, headers: { 'content-type': 'application/json', ...options.headers } }, (response) => {
      const serial = (response.socket as TLSSocket).getPeerCertificate().serialNumber;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text), serial, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const serialOf = async (cert: IssuedCert) => (await run('openssl', ['x509', '-noout', '-serial', '-in', cert.cert])).stdout.trim().replace(/^serial=/, '').toUpperCase();

/** Waits until the daemon's log holds `event` `count` times. */
async function logged(daemon: DaemonProcess, event: string, count = 1): Promise<void> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (daemon.logs().split(`"event":"${event}"`).length - 1 >= count) return;
  }
  throw new Error(`no ${event} in the log:\n${daemon.logs()}`);
}

let dir: string;
let ca: TestCa;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkngin-tls-'));
  ca = await makeTestCa(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The certificate and key the daemon is configured with: files a renewal replaces. */
async function install(cert: IssuedCert): Promise<{ cert: string; key: string }> {
  const paths = { cert: join(dir, 'live-cert.pem'), key: join(dir, 'live-key.pem') };
  // As certbot and friends do: new files beside, then renamed over the old ones.
  await copyFile(cert.cert, `${paths.cert}.new`);
  await copyFile(cert.key, `${paths.key}.new`);
  await rename(`${paths.cert}.new`, paths.cert);
  await rename(`${paths.key}.new`, paths.key);
  return paths;
}

describe('HTTPS ingest', () => {
  let daemon: DaemonProcess;
  let first: IssuedCert;
  beforeAll(async () => {
    first = await ca.issue('server-1');
    daemon = await startDaemon({ config: { tls: await install(first), http: { headersTimeoutMs: 2000 } }, https: { ca: ca.certPem } });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  const metricsText = () =>
    new Promise<string>((resolve, reject) => {
      request(`${daemon.url}/metrics`, { ca: ca.certPem, agent: false }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });

  it('takes events from Node and from curl, and logs the certificate it serves', async () => {
    expect(daemon.url).toMatch(/^https:/);
    const answer = await post(daemon.url, '/v1/topics/tls', '{"from":"node"}', { ca: ca.certPem, agent: false });
    expect(answer.status).toBe(202);
    const curl = spawnSync('curl', ['-sS', '--cacert', ca.cert, '-H', 'content-type: application/json', '-d', '{"from":"curl"}', `${daemon.url}/v1/topics/tls`], { encoding: 'utf8' });
    expect(curl.stderr).toBe('');
    expect(JSON.parse(curl.stdout).accepted).toBe(1);
    expect(daemon.logs()).toMatch(/"event":"tls.loaded".*"subject":"CN=server-1"/);
  });

  it('refuses plain HTTP and clients that do not trust the certificate, and counts the failed handshakes', async () => {
    await expect(fetch(`${daemon.url.replace('https:', 'http:')}/health`)).rejects.toThrow();
    await expect(post(daemon.url, '/v1/topics/tls', '{}', { agent: false })).rejects.toThrow(/self-signed|unable to (get|verify)/);
    expect(await metricsText()).toMatch(/sparkngin_ingest_refused_requests_total\{status="400",code="TLS_HANDSHAKE_FAILED"\} [1-9]/);
  });

  it('closes a connection that never starts its handshake, as one that never sends its headers', async () => {
    const socket = connect(daemon.port, '127.0.0.1');
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    socket.resume();
    // Node's own handshake timeout is 120 s; http.headersTimeoutMs (2 s here) applies instead.
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 60 s')), 60_000))]);
    expect(socket.destroyed).toBe(true);
  });

  it('reloads the certificate on SIGHUP for new connections, without dropping an open one', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    try {
      const before = await post(daemon.url, '/v1/topics/tls', '{"n":1}', { agent });
      expect(before.serial).toBe(await serialOf(first));

      const second = await ca.issue('server-2', { days: 2 });
      await install(second);
      const reloads = daemon.logs().split('"event":"tls.reloaded"').length;
      daemon.signal('SIGHUP');
      await logged(daemon, 'tls.reloaded', reloads);

      // The open connection goes on, with the certificate it was made with.
      const kept = await post(daemon.url, '/v1/topics/tls', '{"n":2}', { agent });
      expect(kept).toMatchObject({ status: 202, reusedSocket: true, serial: await serialOf(first) });
      // A new connection gets the new certificate.
      const fresh = await post(daemon.url, '/v1/topics/tls', '{"n":3}', { ca: ca.certPem, agent: false });
      expect(fresh).toMatchObject({ status: 202, serial: await serialOf(second) });
      // /metrics says when the certificate served now expires.
      const notAfter = (await run('openssl', ['x509', '-noout', '-enddate', '-in', second.cert])).stdout.trim().replace(/^notAfter=/, '');
      expect(await metricsText()).toContain(`sparkngin_tls_certificate_expiry_timestamp_seconds ${Date.parse(notAfter) / 1000}\n`);

      // A renewal that does not fit (another certificate's key) is refused; the last good one stays.
      const third = await ca.issue('server-3');
      await writeFile(join(dir, 'live-key.pem'), third.keyPem);
      daemon.signal('SIGHUP');
      await logged(daemon, 'tls.reload_failed');
      expect(daemon.logs()).toMatch(/"event":"tls.reload_failed".*key values mismatch/);
      const still = await post(daemon.url, '/v1/topics/tls', '{"n":4}', { ca: ca.certPem, agent: false });
      expect(still).toMatchObject({ status: 202, serial: await serialOf(second) });
    } finally {
      agent.destroy();
    }
  });
});

describe('mutual TLS', () => {
  let daemon: DaemonProcess;
  let clientA: IssuedCert;
  let clientB: IssuedCert;
  beforeAll(async () => {
    const server = await ca.issue('server-m');
    clientA = await ca.issue('client-a', { client: true });
    clientB = await ca.issue('client-b', { client: true });
    daemon = await startDaemon({
      config: { tls: { cert: server.cert, key: server.key, ca: ca.cert, clientCerts: 'require' }, auth: { certificates: [{ cn: 'client-a', topics: ['a.*'] }] } },
      https: { ca: ca.certPem, cert: clientA.certPem, key: clientA.keyPem },
    });
  });
  afterAll(async () => {
    await daemon?.close();
  });

  it('maps a verified certificate CN to the topics it may write', async () => {
    const a = { ca: ca.certPem, cert: clientA.certPem, key: clientA.keyPem, agent: false as const };
    expect((await post(daemon.url, '/v1/topics/a.orders', '{}', a)).status).toBe(202);
    const forbidden = await post(daemon.url, '/v1/topics/b.orders', '{}', a);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.message).toBe("the credential 'cert:client-a' may not write topic 'b.orders'");
    // A certificate the CA signed, whose CN is not listed, is no credential for events.
    const b = await post(daemon.url, '/v1/topics/a.orders', '{}', { ca: ca.certPem, cert: clientB.certPem, key: clientB.keyPem, agent: false });
    expect(b.status).toBe(401);
    const curl = spawnSync('curl', ['-sS', '--cacert', ca.cert, '--cert', clientA.cert, '--key', clientA.key, '-d', '{"from":"curl"}', '-H', 'content-type: application/json', `${daemon.url}/v1/topics/a.curl`], { encoding: 'utf8' });
    expect(JSON.parse(curl.stdout).accepted).toBe(1);
  });

  it('refuses a connection without a client certificate or with one from another CA', async () => {
    await expect(post(daemon.url, '/v1/topics/a.x', '{}', { ca: ca.certPem, agent: false })).rejects.toThrow();
    const curl = spawnSync('curl', ['-sS', '--cacert', ca.cert, `${daemon.url}/health`], { encoding: 'utf8' });
    expect(curl.status).not.toBe(0);
    const otherDir = await mkdtemp(join(tmpdir(), 'sparkngin-other-ca-'));
    try {
      const other = await makeTestCa(otherDir, 'Another CA');
      const stranger = await other.issue('client-a', { client: true });
      await expect(post(daemon.url, '/v1/topics/a.x', '{}', { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem, agent: false })).rejects.toThrow();
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});

describe('TLS files that cannot be used', () => {
  it('stop the start with exit 1 and a message naming the setting', async () => {
    const one = await ca.issue('server-x');
    const other = await ca.issue('server-y');
    const start = async (tls: Record<string, string>) => {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, stringify({ listen: { port: await freePort() }, dataDir: join(dir, 'data-bad'), tls }));
      return spawnSync(process.execPath, [BUNDLE, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    };
    const missing = await start({ cert: join(dir, 'nope.pem'), key: one.key });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/tls\.cert: cannot read .*nope\.pem \(ENOENT\)/);
    const mismatch = await start({ cert: one.cert, key: other.key });
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/tls\.cert, tls\.key, tls\.ca: not usable together \(.*key values mismatch/);
    const notPem = await start({ cert: join(dir, 'bad.yaml'), key: one.key });
    expect(notPem.status).toBe(1);
    expect(notPem.stderr).toMatch(/tls\.cert: .* holds no PEM certificate/);
  });
});
