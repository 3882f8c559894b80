// The daemon's side of Ganglia: with ganglia.hosts set, a publisher that sends the catalogue's
// metrics (catalogue.ts here) from the daemon's /stats snapshot every ganglia.intervalSeconds.
import type { Config } from '../../config/defaults';
import type { Logger } from '../log';
import { gangliaSamples } from './catalogue';
import { GangliaPublisher, parseDestination } from './publisher';

/** Starts publishing, or returns undefined when ganglia.hosts is empty. */
export function startGanglia(config: Config, stats: () => unknown, logger: Logger): GangliaPublisher | undefined {
  const { ganglia } = config;
  if (ganglia.hosts.length === 0) return undefined;
  const timing = { tmax: ganglia.intervalSeconds, dmax: ganglia.dmaxSeconds };
  const publisher = new GangliaPublisher({
    destinations: ganglia.hosts.map(parseDestination),
    source: { host: config.host, ...(ganglia.spoofHost !== '' ? { spoof: ganglia.spoofHost } : {}) },
    intervalMs: ganglia.intervalSeconds * 1000,
    metadataIntervalMs: ganglia.metadataIntervalSeconds * 1000,
    multicastTtl: ganglia.multicastTtl,
    multicastInterface: ganglia.multicastInterface,
    collect: () => gangliaSamples(stats(), timing),
    logger,
  });
  publisher.start();
  logger.info('ganglia.publishing', { hosts: ganglia.hosts, intervalSeconds: ganglia.intervalSeconds });
  return publisher;
}
