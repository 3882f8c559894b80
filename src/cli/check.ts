// `sparkngin check MODE`: a Nagios plugin (src/ops/nagios/). It follows the plugin guidelines to the
// letter, which differ from the other commands: the exit status is the state (0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN), so a bad argument, a timeout or an answer it cannot read exits 3 with one
// status line, never 2 (which Nagios would page as CRITICAL).
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { defaultConfig } from '../config/defaults';
import { loadConfig } from '../config/load';
import { latestHeartbeats } from '../ops/heartbeat-reader';
import { type CheckMode, agentResult, healthResult, heartbeatResult, lagResult, readStats, sinksResult, spoolResult, UnreadableAnswer } from '../ops/nagios/modes';
import { type CheckResult, exitCode, renderResult, type Thresholds } from '../ops/nagios/plugin';
import { parseRange } from '../ops/nagios/range';
import { getOps, type OpsClientOptions, OpsUnreachableError } from '../ops/ops-client';
import { kafkaTopic } from '../sinks/kafka/record';
import { kafkaSecurity } from '../sinks/kafka/security';
import { type Command, parseOptions } from './command';
import { OPS_TOKEN_VARIABLE } from './ops-client';

const USAGE = `Usage: sparkngin check MODE [options]

A Nagios plugin: prints one status line (then '|' and performance data) and exits 0 OK,
1 WARNING, 2 CRITICAL or 3 UNKNOWN. Modes:
  health      GET /health (CRITICAL when it does not answer 200) and /ready (WARNING when not ready)
  spool       spool use in % of spool.maxBytes (default -w 80 -c 90); a full spool is CRITICAL
  lag         records each sink is behind (default -w 10000 -c 100000); --sink for one
  sinks       each sink's state: down CRITICAL (with the reason); --sink for one
  heartbeat   age in seconds of the newest heartbeat in Kafka (default -w 60 -c 300): proves
              ingest, spool, delivery and broker work end to end
  agent       the findings of a 'sparkngin agent' (--url is the agent's): the worst decides

Options:
  -u, --url URL            the daemon's ops endpoints (ops.listen when set), or the agent's
                           (default http://127.0.0.1:7080)
  -w, --warning RANGE      WARNING threshold, Nagios range: 10, 10:, ~:10, 10:20, @10:20
  -c, --critical RANGE     CRITICAL threshold, same syntax
  -t, --timeout SECONDS    give up (UNKNOWN) after this long (default 10)
      --token-file FILE    ops token (ops.tokens) in a file, sent as Authorization: Bearer
      --token TOKEN        the same on the command line (visible to other users in ps);
                           default: the SPARKNGIN_OPS_TOKEN variable
      --ca FILE            CA certificates (PEM) the daemon's certificate must chain to
      --cert FILE          client certificate (PEM), when the listener asks for one
      --key FILE           its private key (PEM)
      --insecure           do not check the daemon's certificate
      --sink NAME          lag, sinks: this sink only
  heartbeat:
      --config FILE        the daemon's configuration: Kafka brokers, TLS, SASL, topic mapping
      --brokers LIST       Kafka bootstrap brokers, comma-separated (instead of --config)
      --topic NAME         heartbeat topic (default: the configuration's heartbeat.topic,
                           else sparkngin-heartbeat)
      --instance ID|HOST   this instance only (id or host); default: the newest of any
  -h, --help               this help

Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a usage error).
`;

const OPTIONS = {
  url: { type: 'string', short: 'u' },
  warning: { type: 'string', short: 'w' },
  critical: { type: 'string', short: 'c' },
  timeout: { type: 'string', short: 't' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean' },
  sink: { type: 'string' },
  config: { type: 'string' },
  brokers: { type: 'string' },
  topic: { type: 'string' },
  instance: { type: 'string' },
} as const;

const MODES: Record<CheckMode, { service: string; warning?: string; critical?: string }> = {
  health: { service: 'SPARKNGIN HEALTH' },
  spool: { service: 'SPARKNGIN SPOOL', warning: '80', critical: '90' },
  lag: { service: 'SPARKNGIN LAG', warning: '10000', critical: '100000' },
  sinks: { service: 'SPARKNGIN SINKS' },
  heartbeat: { service: 'SPARKNGIN HEARTBEAT', warning: '60', critical: '300' },
  agent: { service: 'SPARKNGIN AGENT' },
};

/** Something the check cannot work with: UNKNOWN with this message. */
class Unknown extends Error {}

type Values = ReturnType<typeof parseOptions<typeof OPTIONS>>['values'];

export const checkCommand: Command = {
  name: 'check',
  summary: [['check MODE', 'Nagios plugin: health, spool, lag, sinks, heartbeat, agent']],
  usage: USAGE,
  async run(args) {
    let service = 'SPARKNGIN';
    let result: CheckResult;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const { values, positionals } = (() => {
        try {
          return parseOptions(args, OPTIONS, USAGE);
        } catch (error) {
          throw new Unknown((error as Error).message);
        }
      })();
      const mode = positionals[0] as CheckMode | undefined;
      if (mode === undefined || !Object.hasOwn(MODES, mode)) throw new Unknown(mode === undefined ? `a mode is needed: ${Object.keys(MODES).join(', ')}` : `unknown mode '${mode}' (modes: ${Object.keys(MODES).join(', ')})`);
      if (positionals.length > 1) throw new Unknown(`unexpected argument '${positionals[1]}'`);
      service = MODES[mode].service;
      const seconds = values.timeout === undefined ? 10 : Number(values.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new Unknown(`--timeout: expected seconds, got '${values.timeout}'`);
      const thresholds = thresholdsOf(mode, values);
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort();
          reject(new Unknown(`no result within ${seconds} s (--timeout)`));
        }, seconds * 1000);
      });
      result = await Promise.race([runMode(mode, values, thresholds, seconds * 1000, abort.signal), timedOut]);
    } catch (error) {
      result = { state: 'UNKNOWN', summary: unknownText(error) };
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    process.stdout.write(renderResult(service, result));
    return exitCode(result.state);
  },
};

function unknownText(error: unknown): string {
  if (error instanceof Unknown || error instanceof UnreadableAnswer || error instanceof OpsUnreachableError) return error.message;
  return `${(error as Error).message ?? String(error)}`;
}

function thresholdsOf(mode: CheckMode, values: Values): Thresholds {
  const parse = (text: string | undefined, option: string) => {
    if (text === undefined) return undefined;
    try {
      return parseRange(text);
    } catch (error) {
      throw new Unknown(`${option}: ${(error as Error).message}`);
    }
  };
  const warning = parse(values.warning ?? MODES[mode].warning, '-w');
  const critical = parse(values.critical ?? MODES[mode].critical, '-c');
  return { ...(warning ? { warning } : {}), ...(critical ? { critical } : {}) };
}

function readPem(file: string | undefined, option: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Unknown(`${option}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

function clientOptions(values: Values, timeoutMs: number, signal: AbortSignal): OpsClientOptions {
  const token = values['token-file'] !== undefined ? readPem(values['token-file'], '--token-file')!.toString('utf8').trim() : (values.token ?? (process.env[OPS_TOKEN_VARIABLE] || undefined));
  const options: OpsClientOptions = { timeoutMs, signal, insecure: values.insecure === true };
  if (token !== undefined) options.token = token;
  const ca = readPem(values.ca, '--ca');
  const cert = readPem(values.cert, '--cert');
  const key = readPem(values.key, '--key');
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  return options;
}

async function runMode(mode: CheckMode, values: Values, thresholds: Thresholds, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  const url = values.url ?? 'http://127.0.0.1:7080';
  if (mode === 'heartbeat') return heartbeat(values, thresholds, signal);
  const client = clientOptions(values, timeoutMs, signal);
  if (mode === 'health') {
    let health;
    try {
      health = await getOps(url, 'health', client);
    } catch (error) {
      // The one mode where no answer is the answer: the daemon is down (check_http does the same).
      if (error instanceof OpsUnreachableError) return { state: 'CRITICAL', summary: error.message };
      throw error;
    }
    const ready = await getOps(url, 'ready', client).catch(() => undefined);
    return healthResult(health, ready);
  }
  const path = mode === 'agent' ? 'fleet' : 'stats';
  const answer = await getOps(url, path, client);
  if (answer.status === 401 || answer.status === 403) throw new Unknown(`GET /${path} answered ${answer.status}: give the ops token (--token-file)`);
  if (answer.status !== 200) throw new Unknown(`GET /${path} answered ${answer.status}`);
  switch (mode) {
    case 'agent':
      return agentResult(answer.json, values.instance);
    case 'spool':
      return spoolResult(readStats(answer.json), thresholds);
    case 'lag':
      return lagResult(readStats(answer.json), thresholds, values.sink);
    case 'sinks':
      return sinksResult(readStats(answer.json), values.sink);
  }
}

async function heartbeat(values: Values, thresholds: Thresholds, signal: AbortSignal): Promise<CheckResult> {
  const config = values.config === undefined ? undefined : loadConfig({ file: values.config, env: process.env });
  const brokers = values.brokers?.split(',').map((broker) => broker.trim()).filter(Boolean) ?? config?.sinks.kafka.brokers ?? [];
  if (brokers.length === 0) throw new Unknown('heartbeat: give --brokers or --config (a configuration with sinks.kafka.brokers)');
  const eventTopic = values.topic ?? (config ?? defaultConfig()).heartbeat.topic;
  const topic = config ? kafkaTopic(config.sinks.kafka, eventTopic) : eventTopic;
  const kafka = new Kafka({
    clientId: 'sparkngin-check',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
    ...(config ? kafkaSecurity(config.sinks.kafka) : {}),
  });
  const latest = await latestHeartbeats(kafka, topic, { window: 1000, signal });
  const wanted = values.instance;
  const candidates = [...latest.values()].filter((seen) => wanted === undefined || seen.instance === wanted || seen.host === wanted);
  const newest = candidates.sort((a, b) => b.sentMs - a.sentMs)[0];
  return heartbeatResult(newest, Date.now(), thresholds, wanted ?? 'any instance', topic);
}
