// Where the instances are when neither the options nor SPARKNGIN_URL say: the ones advertising
// `_sparkngin._tcp` on the LAN (src/discovery/browse.ts), listened for discovery.timeoutMs and probed
// (GET /health). One URL per instance (its first address, IPv4 first), so that an instance with two
// addresses is one member of the rotation, not two; an instance that does not answer, takes no HTTP
// ingest, or speaks another API version than v1 is left out (and said so). With discovery.transport
// `zmq`, the URL is the instance's ZeroMQ ROUTER (`tcp://ADDRESS:zmq-router`), for instances whose
// TXT says they take ZeroMQ with nw1 framing, with the message size it advertises (zmq-max).
import { type DiscoveredInstance, discoverInstances } from '../discovery/browse';
import { zmqMaxMessageBytes } from '../discovery/txt';
import { NoInstanceError } from './errors';
import type { ClientLogger, ClientSettings, DiscoveryTransport } from './options';

/** The API version this client speaks: instances advertise its base path (`path=/v1`). */
const API_PATH = '/v1';

/** The instances to send to, and the zmq.maxMessageBytes of the tcp:// ones that advertise it. */
export interface Found {
  urls: string[];
  zmqMaxMessageBytes: Map<string, number>;
}

export async function discoverUrls(options: ClientSettings['discovery'], logger: ClientLogger): Promise<Found> {
  const found = await discoverInstances({ timeoutMs: options.timeoutMs, probe: true, ...(options.interfaces === undefined ? {} : { interfaces: options.interfaces }) });
  const urls: string[] = [];
  const zmqMax = new Map<string, number>();
  for (const instance of found) {
    const url = instanceUrl(instance, options.transport);
    if (url.why !== undefined) logger.warn('client.instance_skipped', { name: instance.name, why: url.why });
    else {
      urls.push(url.url);
      const max = zmqMaxMessageBytes(instance.txt);
      if (options.transport === 'zmq' && max !== undefined) zmqMax.set(url.url, max);
    }
  }
  if (urls.length === 0) {
    throw new NoInstanceError(`none given (urls, SPARKNGIN_URL) and none usable found on the LAN within ${options.timeoutMs} ms (mDNS, _sparkngin._tcp${options.transport === 'zmq' ? ', ZeroMQ ingest with nw1' : ''}${found.length > 0 ? `: ${found.length} found, none usable` : ''})`);
  }
  return { urls, zmqMaxMessageBytes: zmqMax };
}

/** The URL the client sends to for a discovered instance over `transport`, or why it cannot. */
export function instanceUrl(instance: DiscoveredInstance, transport: DiscoveryTransport): { url: string; why?: undefined } | { why: string } {
  const router = instance.txt['zmq-router'];
  const why =
    instance.reachable === false ? 'it does not answer GET /health'
    : instance.urls.length === 0 ? 'it has no usable address'
    : transport === 'zmq' ?
      !instance.ingest.includes('zmq') || router === undefined || !/^\d{1,5}$/.test(router) ? 'it advertises no ZeroMQ ROUTER (zmq-router)'
      : instance.txt['zmq-framing'] !== 'nw1' ? `its ZeroMQ framing is ${instance.txt['zmq-framing'] ?? 'unknown'}, not nw1`
      : undefined
    : !instance.ingest.includes('http') ? 'it takes no HTTP ingest'
    : !instance.basePath.endsWith(API_PATH) ? `its API path ${instance.basePath} is not ${API_PATH}`
    : undefined;
  if (why !== undefined) return { why };
  const url = new URL(instance.urls[0]!);
  if (transport === 'zmq') return { url: `tcp://${url.hostname}:${router!}` };
  url.pathname = instance.basePath.slice(0, -API_PATH.length) || '/';
  return { url: url.href.replace(/\/$/, '') };
}
