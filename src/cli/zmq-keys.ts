// `sparkngin zmq-keys`: a CURVE key pair for the ZeroMQ ingest (zmq.curveSecretKey) or for one of
// its clients (zmq.curveClients), in Z85 as libzmq reads them. Made with Node's own X25519 (CURVE's
// keys are Curve25519 keys, as libsodium's crypto_box makes them), so no ZeroMQ library is needed here.
import { generateKeyPairSync } from 'node:crypto';
import { z85Encode } from '../ingest/zmq/curve';
import { type Command, print, UsageError } from './command';

const USAGE = `Usage: sparkngin zmq-keys

Prints a new CURVE key pair in Z85: the secret key as the line for zmq.curveSecretKey in
sparkngin.yaml, and the public key that the clients of the ZeroMQ ingest need (their socket's
curveServerKey). For a client's own pair, run it again: its public key goes under zmq.curveClients.
`;

/** A fresh Curve25519 key pair, Z85-encoded. */
export function curveKeyPair(): { publicKey: string; secretKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const raw = (jwk: string | undefined) => Buffer.from(jwk!, 'base64url');
  return { publicKey: z85Encode(raw(publicKey.export({ format: 'jwk' }).x)), secretKey: z85Encode(raw(privateKey.export({ format: 'jwk' }).d)) };
}

export const zmqKeysCommand: Command = {
  name: 'zmq-keys',
  summary: [['zmq-keys', 'make a CURVE key pair for the ZeroMQ ingest or a client of it']],
  usage: USAGE,
  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, USAGE);
    const { publicKey, secretKey } = curveKeyPair();
    // Quoted: Z85 uses characters (# : { } …) that YAML would read otherwise.
    return print(`# The secret key: under zmq: in sparkngin.yaml (keep the file readable by sparkngin only)\ncurveSecretKey: ${JSON.stringify(secretKey)}\n# The public key: for the clients (curveServerKey), or under zmq.curveClients for a client's pair\n${publicKey}\n`);
  },
};
