// `sparkngin agent`: runs the heartbeat agent (src/agent/) in the foreground until SIGTERM or SIGINT.
import { Agent } from '../agent/agent';
import { createLogger } from '../ops/log';
import type { Command } from './command';
import { configFromArgs, START_OPTIONS_HELP } from './start-options';

const USAGE = `Usage: sparkngin agent [options]

Watches a fleet of Sparkngin instances: those listed in agent.instances and, with agent.discover,
those advertised on the LAN. Polls each one's /health and /stats every agent.pollIntervalMs and,
when sinks.kafka.brokers is set, follows the heartbeat topic in Kafka. Flags an instance whose
heartbeat or answers are late (agent.lateAfterSeconds), whose sink is down, or whose lag keeps
growing (agent.lagGrowthPolls); logs each finding raised and cleared, sends them as events to
agent.eventsUrl when set, and serves the fleet view as JSON at GET /fleet on agent.listen
('sparkngin check agent' turns it into a Nagios service).

${START_OPTIONS_HELP}Signals: SIGTERM/SIGINT stop it.
`;

export const agentCommand: Command = {
  name: 'agent',
  summary: [['agent', 'watch a fleet: late heartbeats, growing lag, sinks down (GET /fleet)']],
  usage: USAGE,
  async run(args) {
    const config = configFromArgs(args, USAGE)();
    const logger = createLogger(config.log.level);
    const agent = new Agent(config, logger);
    await agent.start();
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await agent.stop();
    logger.info('agent.stopped');
    // Exit explicitly: kafkajs or the mDNS socket must not keep a stopped agent alive.
    process.exit(0);
  },
};
