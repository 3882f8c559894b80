// Finding Sparkngin instances on the LAN, for the client library and `sparkngin discover`:
// discoverInstances() listens for a while and returns what it found (probed for reachability unless
// told not to); watchInstances() follows joins, updates and leaves until closed, as events or as an
// async iterator. Both send mDNS queries on the LAN (224.0.0.251:5353).
import { type BrowseOptions, type DiscoveredInstance, InstanceBrowser } from './browser';
import { probeReachability } from './reachability';

export type { DiscoveredInstance, WatchEvent } from './browser';
export { InstanceBrowser, NoInterfaceError } from './browser';
export { probeReachability } from './reachability';

export interface DiscoverOptions extends BrowseOptions {
  /** How long to listen for advertisements, in ms (default 3000). */
  timeoutMs?: number;
  /** Probe each instance's GET /health and set `reachable` (default true). */
  probe?: boolean;
  /** Deadline of one probe, in ms (default 1500). */
  probeTimeoutMs?: number;
  /** Advertisements that cannot be used: their names and why. */
  onSkipped?: (name: string, why: string) => void;
}

/** The instances heard within `timeoutMs`, sorted by name; with `probe`, each with `reachable`. */
export async function discoverInstances(options: DiscoverOptions = {}): Promise<DiscoveredInstance[]> {
  const browser = new InstanceBrowser(options);
  if (options.onSkipped) browser.on('skipped', options.onSkipped);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.timeoutMs ?? 3000);
    options.signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const found = browser.known().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await browser.close();
  if (options.probe === false || options.signal?.aborted) return found;
  return probeReachability(found, { timeoutMs: options.probeTimeoutMs ?? 1500, ...(options.signal ? { signal: options.signal } : {}) });
}

/**
 * Follows instances as they join, change and leave: `on('join' | 'update' | 'leave', instance)`, or
 * `for await (const { type, instance } of watchInstances())`. Ends with close() or the signal.
 */
export function watchInstances(options: BrowseOptions = {}): InstanceBrowser {
  return new InstanceBrowser(options);
}
