// Where an instance is advertised: the interfaces through which the ingest can be reached, each with
// the addresses the advertisement names there. Only what the listener accepts is advertised (a
// daemon bound to one address is advertised with that address, on its interface only), and only
// what a client elsewhere can use: no loopback interface, no IPv6 link-local address (useless
// without the zone of the client's own interface). mDNS is spoken over IPv4 (224.0.0.251), so an
// interface needs an IPv4 address to be advertised on; its IPv6 addresses ride along as AAAA records.
import { isIP } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

export interface AdvertisedInterface {
  /** Interface name (eth0). */
  name: string;
  /** Its IPv4 address the mDNS socket joins the group on and sends from. */
  multicastVia: string;
  /** The addresses the A/AAAA records name on this interface, IPv4 first. */
  addresses: string[];
}

/** Whether a bound address accepts connections from this machine only. */
export function isLoopback(address: string): boolean {
  const plain = unmapped(address);
  return plain === '::1' || plain.startsWith('127.') || plain === 'localhost';
}

/**
 * The interfaces to advertise on, for a listener bound to `listenAddress` (as server.address() gives
 * it), limited to the names in `only` when it is not empty. Sorted by name, so that two calls over
 * the same interfaces compare equal.
 */
export function advertisedInterfaces(
  listenAddress: string,
  only: readonly string[],
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): AdvertisedInterface[] {
  if (isLoopback(listenAddress)) return [];
  const bound = unmapped(listenAddress);
  const anyV4 = bound === '0.0.0.0';
  const anyV6 = bound === '::';
  const result: AdvertisedInterface[] = [];
  for (const [name, infos = []] of Object.entries(interfaces)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const external = infos.filter((info) => !info.internal);
    const v4 = external.find((info) => info.family === 'IPv4');
    if (v4 === undefined) continue;
    const usable = external.filter((info) => info.family === 'IPv4' || !isLinkLocalV6(info.address));
    const addresses = usable
      .filter((info) => (anyV6 ? true : anyV4 ? info.family === 'IPv4' : info.address === bound))
      .sort((a, b) => (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1))
      .map((info) => info.address);
    if (addresses.length > 0) result.push({ name, multicastVia: v4.address, addresses });
  }
  return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function isLinkLocalV6(address: string): boolean {
  return isIP(address) === 6 && /^fe[89ab]/i.test(address);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
