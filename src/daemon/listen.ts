// Server.listen as a promise: resolves once listening, rejects with the error listen raised (port
// in use, no permission) instead of leaving it to an 'error' event nobody awaits.
import type { ListenOptions, Server } from 'node:net';

export function listen(server: Server, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
