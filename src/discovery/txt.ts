// The `_sparkngin._tcp` service type and the TXT record of its advertisements, defined once for
// the advertiser that writes them and the browser that reads them. Version 1 (`txtvers=1`) has these keys (RFC 6763 §6: short
// keys, `key=value`, keys compared without case, the first of a repeated key wins):
//   txtvers  1
//   id       the instance id (a UUID kept in the data dir: the same across restarts and renames)
//   version  the daemon's version
//   path     the API base path (`/v1`: events go to POST {url}{path}/topics/{topic})
//   proto    http | https
//   ingest   the ingest protocols taken, comma-separated: `http`, and `zmq` with ZeroMQ ingest
//   auth     required | none: whether writing events needs a credential (never the credential)
//   zmq-pull, zmq-router   the TCP port of the ZeroMQ PULL and ROUTER sockets, when they are bound
//            to an address other machines reach (same host as the SRV record)
//   zmq-framing  raw | nw1 (zmq.framing);  zmq-auth  curve | none
//   zmq-max  zmq.maxMessageBytes: a client sends no larger message (libzmq drops the connection of
//            a peer that does)
// A reader accepts what a later minor change adds (unknown keys are kept in `txt` and ignored) and
// refuses what it cannot use: another txtvers, a proto it cannot speak, a path that is no path. TXT
// data comes from anyone on the LAN, so every string is bounded and checked before it is believed.

/** The DNS-SD service type: `_sparkngin._tcp`. */
export const SERVICE_TYPE = 'sparkngin';
export const TXT_VERSION = '1';
/** The API base path of this daemon (src/ingest/routes.ts: TOPICS_PREFIX is `${API_BASE_PATH}/topics/`). */
export const API_BASE_PATH = '/v1';
export type Proto = 'http' | 'https';

export interface AdvertisedFacts {
  instanceId: string;
  version: string;
  proto: Proto;
  ingest: readonly string[];
  authRequired: boolean;
  /** ZeroMQ ingest reachable from the LAN: its ports, framing and whether CURVE guards it. */
  zmq?: ZmqFacts;
}

export interface ZmqFacts {
  pull?: number;
  router?: number;
  framing: string;
  curve: boolean;
  /** zmq.maxMessageBytes. */
  maxMessageBytes?: number;
}

/** The TXT record of an instance, as key → value strings (bonjour-service encodes each as `key=value`). */
export function buildTxt(facts: AdvertisedFacts): Record<string, string> {
  return {
    txtvers: TXT_VERSION,
    id: facts.instanceId,
    version: facts.version,
    path: API_BASE_PATH,
    proto: facts.proto,
    ingest: facts.ingest.join(','),
    auth: facts.authRequired ? 'required' : 'none',
    ...(facts.zmq === undefined ? {} : zmqTxt(facts.zmq)),
  };
}

function zmqTxt(zmq: ZmqFacts): Record<string, string> {
  return {
    ...(zmq.pull === undefined ? {} : { 'zmq-pull': String(zmq.pull) }),
    ...(zmq.router === undefined ? {} : { 'zmq-router': String(zmq.router) }),
    'zmq-framing': zmq.framing,
    'zmq-auth': zmq.curve ? 'curve' : 'none',
    ...(zmq.maxMessageBytes === undefined ? {} : { 'zmq-max': String(zmq.maxMessageBytes) }),
  };
}

/** What a reader takes from a TXT record it can use. */
export interface TxtFacts {
  txt: Record<string, string>;
  instanceId?: string;
  version?: string;
  basePath: string;
  proto: Proto;
  ingest: string[];
  tokenRequired: boolean;
  /** Present when the record names a usable ZeroMQ port. */
  zmq?: ZmqFacts;
}

/** Why an advertisement's TXT record cannot be used. */
export type TxtProblem = string;

/** Most keys kept from one record; a TXT record fits in one mDNS packet, so this is generous. */
const MAX_KEYS = 64;
/** Longest value kept (a TXT string is at most 255 bytes, key included). */
const MAX_VALUE = 255;
const VERSION = /^[\x21-\x7e]{1,64}$/;
const ID = /^[0-9A-Za-z._-]{1,64}$/;
const PATH = /^\/[0-9A-Za-z._~\-/]{0,63}$/;
const PROTOCOL = /^[a-z][a-z0-9-]{0,15}$/;

/**
 * Decodes the strings of a TXT record (RFC 6763 §6.3-6.5). A string that is not valid UTF-8, has an
 * empty key, or repeats a key is skipped; a key alone (`flag`) is kept as ''.
 */
export function decodeTxt(strings: readonly Uint8Array[]): Record<string, string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // No prototype: a key named __proto__ or constructor is only a key.
  const txt = Object.create(null) as Record<string, string>;
  let kept = 0;
  for (const bytes of strings) {
    if (kept >= MAX_KEYS) break;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      continue;
    }
    const equals = text.indexOf('=');
    const key = (equals < 0 ? text : text.slice(0, equals)).toLowerCase();
    if (key.length === 0 || key.length > 32 || key in txt) continue;
    txt[key] = equals < 0 ? '' : text.slice(equals + 1, equals + 1 + MAX_VALUE);
    kept++;
  }
  return txt;
}

/**
 * The facts of a decoded TXT record, or the problem that makes it unusable. A record without keys
 * (a bare `_sparkngin._tcp` service) means the defaults: plain HTTP, `/v1`, http ingest, no token.
 */
export function readTxt(txt: Record<string, string>): TxtFacts | TxtProblem {
  const version = txt.txtvers;
  if (version !== undefined && version !== TXT_VERSION) return `txtvers=${printable(version)} is not ${TXT_VERSION}`;
  const proto = txt.proto ?? 'http';
  if (proto !== 'http' && proto !== 'https') return `proto=${printable(proto)} is neither http nor https`;
  const basePath = txt.path ?? API_BASE_PATH;
  if (!PATH.test(basePath) || /(^|\/)\.\.?(\/|$)/.test(basePath)) return `path=${printable(basePath)} is not a plain absolute path`;
  const ingest = (txt.ingest ?? 'http').split(',').filter((name) => name !== '');
  if (ingest.length === 0 || ingest.length > 8 || !ingest.every((name) => PROTOCOL.test(name))) return `ingest=${printable(txt.ingest ?? '')} is not a list of protocols`;
  const auth = txt.auth ?? 'none';
  if (auth !== 'required' && auth !== 'none') return `auth=${printable(auth)} is neither required nor none`;
  const id = txt.id;
  const zmq = readZmq(txt);
  return {
    ...(zmq === undefined ? {} : { zmq }),
    txt: { ...txt },
    ...(id !== undefined && ID.test(id) ? { instanceId: id } : {}),
    ...(txt.version !== undefined && VERSION.test(txt.version) ? { version: txt.version } : {}),
    basePath: basePath.length > 1 ? basePath.replace(/\/+$/, '') : basePath,
    proto,
    ingest,
    tokenRequired: auth === 'required',
  };
}

/** The ZeroMQ ports of a record; ports that are not ports are ignored, as are the other zmq keys without one. */
function readZmq(txt: Record<string, string>): ZmqFacts | undefined {
  const port = (value: string | undefined) => (value !== undefined && /^\d{1,5}$/.test(value) && Number(value) > 0 && Number(value) <= 65535 ? Number(value) : undefined);
  const pull = port(txt['zmq-pull']);
  const router = port(txt['zmq-router']);
  if (pull === undefined && router === undefined) return undefined;
  const max = zmqMaxMessageBytes(txt);
  return { ...(pull === undefined ? {} : { pull }), ...(router === undefined ? {} : { router }), framing: txt['zmq-framing'] === 'nw1' ? 'nw1' : 'raw', curve: txt['zmq-auth'] === 'curve', ...(max === undefined ? {} : { maxMessageBytes: max }) };
}

/** The `zmq-max` of a record (zmq.maxMessageBytes), or undefined when absent or not a count of bytes. */
export function zmqMaxMessageBytes(txt: Record<string, string>): number | undefined {
  const value = txt['zmq-max'];
  return value !== undefined && /^[1-9]\d{0,14}$/.test(value) ? Number(value) : undefined;
}

/** A value quoted in a problem: control characters escaped, cut at 40 characters. */
function printable(value: string): string {
  const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(cut);
}
