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
import type { ZmqFacts } from './txt';
import { loadInstanceId } from './instance-id';

/** Starts advertising the daemon listening at `address` (and its ZeroMQ endpoints, if bound), or says why it is not advertised. */
export async function advertiseDaemon(config: Config, address: AddressInfo, logger: Logger, zmqEndpoints: { pull?: string; router?: string } = {}): Promise<Advertiser | undefined> {
  if (!config.discovery.enabled) {
    logger.info('discovery.off', { reason: 'discovery.enabled is false' });
    return undefined;
  }
  if (isLoopback(address.address)) {
    logger.info('discovery.off', { reason: `listening on ${address.address}: reachable from this machine only` });
    return undefined;
  }
  const instanceId = await loadInstanceId(config.dataDir);
  const zmq = zmqFacts(config, zmqEndpoints);
  return Advertiser.start({
    listenAddress: address.address,
    port: address.port,
    name: config.discovery.name,
    host: config.host,
    interfaces: config.discovery.interfaces,
    facts: {
      instanceId,
      version: VERSION,
      ingest: zmq === undefined ? ['http'] : ['http', 'zmq'],
      proto: tlsEnabled(config.tls) ? 'https' : 'http',
      authRequired: authRequired(config),
      ...(zmq === undefined ? {} : { zmq }),
    },
    logger: logger.child({ component: 'discovery' }),
  });
}

/** The ZeroMQ endpoints worth advertising: TCP ones bound to an address other machines reach (not loopback, not ipc://). */
export function zmqFacts(config: Config, endpoints: { pull?: string; router?: string }): ZmqFacts | undefined {
  const port = (endpoint: string | undefined): number | undefined => {
    const match = endpoint === undefined ? null : /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
    if (match === null) return undefined;
    const host = match[1]!.replace(/^\[|\]$/g, '');
    return isLoopback(host) ? undefined : Number(match[2]);
  };
  const pull = port(endpoints.pull);
  const router = port(endpoints.router);
  if (pull === undefined && router === undefined) return undefined;
  return { ...(pull === undefined ? {} : { pull }), ...(router === undefined ? {} : { router }), framing: config.zmq.framing, curve: config.zmq.curveSecretKey !== '', maxMessageBytes: config.zmq.maxMessageBytes };
}
