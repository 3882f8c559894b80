// `sparkngin start`: runs the daemon until SIGTERM or SIGINT, then stops it gracefully. A second
// signal during the stop exits at once (see stop-signals.ts for what counts as a second one).
// SIGHUP reloads the TLS certificate and reopens log.file.
import { resolve } from 'node:path';
import type { Config } from '../config/defaults';
import { unknownEnvVariables } from '../config/env';
import { openDataDir } from '../daemon/data-dir';
import type { Daemon } from '../daemon/daemon';
import { journalStyle } from '../ops/journal';
import { LogFile } from '../ops/log-file';
import { createLogger } from '../ops/log';
import type { Command } from './command';
import { configFromArgs, START_OPTIONS_HELP } from './start-options';
import { StopSignals } from './stop-signals';

const USAGE = `Usage: sparkngin start [options]

Runs the daemon in the foreground: HTTP ingest → disk spool → sinks. Logs are JSON lines on stderr.

${START_OPTIONS_HELP}Signals: SIGTERM/SIGINT stop gracefully (stop ingest, sync, drain sinks for up to shutdownTimeoutMs);
SIGHUP reloads the TLS certificate and key.
`;

export const startCommand: Command = {
  name: 'start',
  summary: [['start', 'run the daemon (HTTP ingest → disk spool → sinks)']],
  usage: USAGE,
  async run(args) {
    const config = configFromArgs(args, USAGE)();
    // Exit explicitly once stopped: a client library's stray timer must not keep a stopped daemon alive.
    process.exit(await runDaemon(config));
  },
};

export async function runDaemon(config: Config): Promise<number> {
  // With log.file the lines go to a file of the daemon's (rotated, reopened on SIGHUP); else stderr.
  const logFile = config.log.file === '' ? undefined : new LogFile(resolve(config.dataDir, config.log.file), config.log.rotateBytes, config.log.keepFiles);
  const logger = logFile
    ? createLogger(config.log.level, {}, (line) => logFile.write(line))
    : createLogger(config.log.level, {}, undefined, undefined, journalStyle(config.log.journald));
  for (const unknown of unknownEnvVariables(process.env)) logger.warn('config.unknown_env', { ...unknown });
  // SIGHUP reopens the log file and reloads the TLS files; caught from the start, since Node's
  // default for it is to exit (a `systemctl reload` during startup must not kill the daemon).
  let started: Daemon | undefined;
  process.on('SIGHUP', () => {
    logFile?.reopen();
    started?.reload();
  });
  // SIGTERM and SIGINT too: the daemon listens before its sinks' threads are up, and a stop asked
  // for then is carried out gracefully once the start is done (a second one exits at once).
  const signals = new StopSignals();
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    const action = signals.receive(signal, Date.now());
    if (action === 'repeat') return;
    if (action === 'force') {
      logger.warn('daemon.forced_exit', { signal });
      process.exit(130);
    }
    logger.info('daemon.signal', { signal });
    requestStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The data dir's lock, instance id and spool first; the daemon's other modules load meanwhile.
  const opening = openDataDir(config, logger);
  const { Daemon } = await import('../daemon/daemon');
  const daemon = await Daemon.start(config, logger, opening);
  started = daemon;
  await stopRequested;
  await daemon.stop().catch((error: unknown) => logger.error('daemon.stop_failed', { error }));
  return 0;
}
