import type { Config } from '../config/defaults';

export async function runDaemon(config: Config): Promise<number> {
  process.stderr.write(`daemon not wired yet (${config.listen.host}:${config.listen.port})\n`);
  return 1;
}
