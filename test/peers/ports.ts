// Free TCP ports on the loopback interface for test peers (Kafka, the daemon, ...). Test files run
// side by side, so nothing may use a fixed port: ask the kernel for one (bind 127.0.0.1:0), release
// it, and hand it out. A port is never handed out twice by the same process, which keeps two peers
// started by one test file from colliding; across processes the kernel's choice is already spread
// out, and peers that can lose the race (Kafka) retry with fresh ports.
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function bindOnce(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port from the kernel'))));
    });
  });
}

/** A TCP port that is free on 127.0.0.1 right now (and not handed out before by this process). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindOnce(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel keeps returning ports already handed out');
}

/** `count` distinct free ports on 127.0.0.1. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(host));
  return ports;
}
