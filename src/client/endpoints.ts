// Where the instances are when neither the options nor SPARKNGIN_URL say: the ones advertising
// `_sparkngin._tcp` on the LAN (src/discovery/browse.ts), listened for discovery.timeoutMs and probed
// (GET /health). One URL per instance (its first address, IPv4 first), so that an instance with two
// addresses is one member of the rotation, not two; an instance that does not answer, takes no HTTP
// ingest, or speaks another API version than v1 is left out (and said so).
import { discoverInstances } from '../discovery/browse';
import { NoInstanceError } from './errors';
import type { ClientLogger, ClientSettings } from './options';

/** The API version this client speaks: instances advertise its base path (`path=/v1`). */
const API_PATH = '/v1';

export async function discoverUrls(options: ClientSettings['discovery'], logger: ClientLogger): Promise<string[]> {
  const found = await discoverInstances({ timeoutMs: options.timeoutMs, probe: true, ...(options.interfaces === undefined ? {} : { interfaces: options.interfaces }) });
  const urls: string[] = [];
  for (const instance of found) {
    const why =
      instance.reachable === false ? 'it does not answer GET /health'
      : !instance.ingest.includes('http') ? 'it takes no HTTP ingest'
      : !instance.basePath.endsWith(API_PATH) ? `its API path ${instance.basePath} is not ${API_PATH}`
      : instance.urls.length === 0 ? 'it has no usable address'
      : undefined;
    if (why !== undefined) {
      logger.warn('client.instance_skipped', { name: instance.name, why });
      continue;
    }
    const url = new URL(instance.urls[0]!);
    url.pathname = instance.basePath.slice(0, -API_PATH.length) || '/';
    urls.push(url.href.replace(/\/$/, ''));
  }
  if (urls.length === 0) {
    throw new NoInstanceError(`none given (urls, SPARKNGIN_URL) and none usable found on the LAN within ${options.timeoutMs} ms (mDNS, _sparkngin._tcp${found.length > 0 ? `: ${found.length} found, none usable` : ''})`);
  }
  return urls;
}
