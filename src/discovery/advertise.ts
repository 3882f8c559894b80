// The daemon's side of discovery: whether and how a started daemon is advertised. An instance is
// advertised when discovery.enabled is true and its listener can be reached from another machine
// (it is not bound to a loopback address); then from listen until the start of a graceful stop.
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/defaults';
import { authRequired } from '../ingest/auth';
import { tlsEnabled } from '../ingest/tls';
import type { Logger } from '../ops/log';
import { VERSION } from '../version';
import { isLoopback } from './addresses';
import { Advertiser } from './advertiser';
import { loadInstanceId } from './instance-id';

/** The ingest protocols this daemon takes (ZeroMQ joins the list when its ingest exists). */
const INGEST_PROTOCOLS = ['http'];

/** Starts advertising the daemon listening at `address`, or says why it is not advertised. */
export async function advertiseDaemon(config: Config, address: AddressInfo, logger: Logger): Promise<Advertiser | undefined> {
  if (!config.discovery.enabled) {
    logger.info('discovery.off', { reason: 'discovery.enabled is false' });
    return undefined;
  }
  if (isLoopback(address.address)) {
    logger.info('discovery.off', { reason: `listening on ${address.address}: reachable from this machine only` });
    return undefined;
  }
  const instanceId = await loadInstanceId(config.dataDir);
  return Advertiser.start({
    listenAddress: address.address,
    port: address.port,
    name: config.discovery.name,
    host: config.host,
    interfaces: config.discovery.interfaces,
    facts: { instanceId, version: VERSION, ingest: INGEST_PROTOCOLS, proto: tlsEnabled(config.tls) ? 'https' : 'http', authRequired: authRequired(config) },
    logger: logger.child({ component: 'discovery' }),
  });
}
