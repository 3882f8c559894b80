// The zmq.* settings that only mean something together, checked at start with the key named (the
// config loader calls this beside its own checks).
import type { Config } from '../../config/defaults';
import { isLegalTopic, TOPIC_RULE } from '../../envelope/rules';
import { Z85_KEY } from './curve';

/** tcp://HOST:PORT (HOST a name, an address, [v6] or *; PORT digits or * for any free one), ipc://PATH, inproc://NAME. */
const ENDPOINT = /^(tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\*|\d{1,5})|ipc:\/\/\S+|inproc:\/\/\S+)$/;

export function checkZmq(config: Config, problems: string[]): void {
  const { zmq } = config;
  for (const kind of ['pull', 'router'] as const) {
    const endpoint = zmq[kind];
    if (endpoint !== '' && !ENDPOINT.test(endpoint)) problems.push(`zmq.${kind}: expected tcp://HOST:PORT, ipc://PATH or '' (none), got '${endpoint}'`);
    const port = /:(\d+)$/.exec(endpoint)?.[1];
    if (endpoint.startsWith('tcp://') && port !== undefined && Number(port) > 65535) problems.push(`zmq.${kind}: the port must be at most 65535`);
  }
  if (zmq.pull !== '' && zmq.pull === zmq.router) problems.push('zmq.router: the same endpoint as zmq.pull; each socket needs its own');
  if (zmq.topic !== '' && !isLegalTopic(zmq.topic)) problems.push(`zmq.topic: invalid topic name '${zmq.topic}': ${TOPIC_RULE}`);
  if (zmq.topic !== '' && zmq.framing === 'nw1') problems.push('zmq.topic: not used with zmq.framing nw1 (each envelope names its topic); leave it empty');
  if (zmq.maxMessageBytes < 1) problems.push('zmq.maxMessageBytes: expected at least 1');
  if (zmq.maxBufferedBytes < zmq.maxMessageBytes) problems.push(`zmq.maxBufferedBytes: expected at least zmq.maxMessageBytes (${zmq.maxMessageBytes}), or no message could ever be read`);
  for (const key of ['maxEventsPerMessage', 'maxInFlight'] as const) if (zmq[key] < 1) problems.push(`zmq.${key}: expected at least 1`);
  if (zmq.curveSecretKey !== '' && !Z85_KEY.test(zmq.curveSecretKey)) problems.push('zmq.curveSecretKey: expected a CURVE key in Z85 (40 characters; `sparkngin zmq-keys` makes a pair)');
  for (const key of zmq.curveClients) if (!Z85_KEY.test(key)) problems.push(`zmq.curveClients: expected CURVE public keys in Z85 (40 characters), got '${key.slice(0, 60)}'`);
  if (zmq.curveClients.length > 0 && zmq.curveSecretKey === '') problems.push('zmq.curveClients: needs zmq.curveSecretKey (client keys are checked in the CURVE handshake)');
}
