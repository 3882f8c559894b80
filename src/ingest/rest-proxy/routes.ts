// The Confluent REST Proxy's produce routes, served beside Sparkngin's own when restProxy.enabled:
// an application written for the REST Proxy switches by changing its base URL (README.md in
// src/ingest says what is and is not the same).
import type { IngestContext } from '../context';
import type { Route } from '../routes';
import { produceV2, produceV2ToPartition, v2PartitionPath } from './v2';
import { produceV3, v3Path } from './v3';

const V2_PREFIX = '/topics/';
const V3_PREFIX = '/v3/clusters/';

const v2: Route = { methods: ['POST'], errors: 'kafka-v2', kind: 'events', handle: produceV2 };
const v2Partition: Route = { methods: ['POST'], errors: 'kafka-v2', kind: 'events', handle: produceV2ToPartition };
const v3: Route = { methods: ['POST'], errors: 'kafka-v3', kind: 'events', handle: produceV3 };

/** The REST Proxy route for a path, with the part after its prefix, or undefined. */
export function findRestProxyRoute(path: string, context: IngestContext): { route: Route; param: string } | undefined {
  if (!context.restProxy.enabled || !context.serves.events) return undefined;
  if (path.startsWith(V2_PREFIX) && path.indexOf('/', V2_PREFIX.length) === -1) return { route: v2, param: path.slice(V2_PREFIX.length) };
  if (path.startsWith(V2_PREFIX) && v2PartitionPath(path.slice(V2_PREFIX.length)) !== undefined) return { route: v2Partition, param: path.slice(V2_PREFIX.length) };
  if (path.startsWith(V3_PREFIX) && v3Path(path.slice(V3_PREFIX.length)) !== undefined) return { route: v3, param: path.slice(V3_PREFIX.length) };
  return undefined;
}
