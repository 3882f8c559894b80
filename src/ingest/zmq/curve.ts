// CURVE on the ZeroMQ ingest sockets (RFC 26, CurveZMQ): with zmq.curveSecretKey set the sockets are
// CURVE servers: traffic is encrypted, and only a client that knows the server's public key can
// connect. With zmq.curveClients also set, only those client keys get in: libzmq asks a ZAP handler
// (RFC 27) about each handshake, and this is one, a REP socket on `inproc://zeromq.zap.01` in the
// same context, answering 200 for a listed key and 400 for any other. Without CURVE, ZeroMQ ingest
// is unauthenticated: anyone who reaches its endpoints can send events (bind them to loopback, a
// private network or an ipc:// path, or set the keys).
//
// Why not PLAIN (user name and password): it sends the password in clear, and needs the same ZAP
// handler; CURVE is what libzmq offers for an untrusted network.
import type { Logger } from '../../ops/log';
import type { Zeromq } from '../../zeromq/load';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Z85 (ZeroMQ's base 85, RFC 32) text of 40 characters: a 32-byte CURVE key. */
export const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Bytes (a multiple of 4 long) → Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85_ALPHABET[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

/** Options that make a socket a CURVE server (or nothing without a secret key). */
export function curveServerOptions(secretKey: string): { curveServer: true; curveSecretKey: string; zapDomain: string } | Record<string, never> {
  return secretKey === '' ? {} : { curveServer: true, curveSecretKey: secretKey, zapDomain: 'sparkngin' };
}

export interface ZapHandler {
  /** Handshakes answered, by outcome. */
  counts(): { allowed: number; denied: number };
  close(): void;
}

/** Answers ZAP requests: CURVE clients whose public key is listed get in. */
export async function startZapHandler(zmq: Zeromq, clients: readonly string[], logger: Logger): Promise<ZapHandler> {
  const allowed = new Set(clients);
  const socket = new zmq.Reply({ linger: 0 });
  await socket.bind(ZAP_ENDPOINT);
  const counts = { allowed: 0, denied: 0 };
  void (async () => {
    for await (const request of socket) {
      // version, request id, domain, address, identity, mechanism, credentials…
      const [version, id, , address, , mechanism, key] = request;
      const clientKey = mechanism?.toString() === 'CURVE' && key?.length === 32 ? z85Encode(key) : undefined;
      const ok = version?.toString() === '1.0' && clientKey !== undefined && allowed.has(clientKey);
      if (ok) counts.allowed++;
      else {
        counts.denied++;
        logger.warn('zmq.client_denied', { address: address?.toString(), mechanism: mechanism?.toString(), clientKey });
      }
      await socket.send(['1.0', id ?? '', ok ? '200' : '400', ok ? 'OK' : 'client key not in zmq.curveClients', ok ? clientKey! : '', '']);
    }
  })().catch(() => undefined);
  return { counts: () => ({ ...counts }), close: () => socket.close() };
}
