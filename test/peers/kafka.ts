// A real Apache Kafka broker for tests: one KRaft node (broker + controller in one JVM) on free
// loopback ports, with its data in a temp dir. The jars come from Maven Central through
// scripts/install-deps.sh (scripts/deps/kafka/<line>/pom.xml names the exact version of each line).
//
//   const kafka = await startKafka({ version: '4', partitions: 3 });
//   ... kafka.brokers ('127.0.0.1:PORT') ...
//   await kafka.stop(); await kafka.restart();   // an outage; the data survives
//   await kafka.close();                         // stop and remove the temp dir
//
// With `security: true` the broker also listens with SSL (client certificate required), SASL_SSL
// and SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), on a CA made for it at test time
// (test-ca.ts; PEM key stores, Kafka ≥ 2.7), with SCRAM users written by `kafka-storage format
// --add-scram` (KRaft keeps them in the metadata log). PLAINTEXT stays for the tests' own clients.
//
// No JVM outlives the test process: an exit handler kills what is still running, and a small shell
// watchdog per broker kills it (and removes its dir) if the test process dies without running it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './ports';
import { type IssuedCert, makeTestCa } from './test-ca';

export type KafkaLine = '3.9' | '4';

export interface StartKafkaOptions {
  /** Release line: '3.9' or '4' (the exact version is in scripts/deps/kafka/<line>/pom.xml).
   *  Default: $SPARKNGIN_KAFKA_VERSION, else '4'. */
  version?: KafkaLine;
  /** num.partitions for auto-created topics (default 1). */
  partitions?: number;
  /** Extra or overriding server.properties entries (e.g. { 'message.max.bytes': 2000000 }). */
  config?: Record<string, string | number | boolean>;
  /** How long to wait for the broker to answer (default 90 s). */
  startTimeoutMs?: number;
  /** Also listen with SSL, SASL_SSL and SASL_PLAINTEXT (see KafkaSecurity). */
  security?: boolean;
}

export interface SaslUser {
  username: string;
  password: string;
}

/** The secured listeners of a peer started with `security: true`, and what a client needs for them. */
export interface KafkaSecurity {
  /** 'host:port' of the SSL listener; it requires a client certificate signed by the CA. */
  ssl: string;
  /** 'host:port' of the SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
  saslSsl: string;
  /** 'host:port' of the SASL_PLAINTEXT listener (the same mechanisms). */
  saslPlaintext: string;
  /** The test CA's certificate (PEM file): it signed the broker's and the client's certificates. */
  caFile: string;
  /** A client certificate (CN=sparkngin-client) for the SSL listener. */
  client: IssuedCert;
  users: { plain: SaslUser; scram256: SaslUser; scram512: SaslUser };
}

export interface KafkaPeer {
  /** Bootstrap address for clients: '127.0.0.1:PORT'. */
  readonly brokers: string;
  /** The exact Kafka version running, e.g. '4.4.0'. */
  readonly version: string;
  readonly port: number;
  readonly controllerPort: number;
  /** The secured listeners, when started with `security: true`. */
  readonly security: KafkaSecurity | undefined;
  /** Temp dir: server.properties, broker.log, data/. */
  readonly dir: string;
  /** Broker stdout/stderr (appended over restarts). */
  readonly logFile: string;
  /** JVM pid while running. */
  readonly pid: number | undefined;
  /** Milliseconds from launching the JVM (last start or restart) until the broker answered; the
   *  storage format before the first start adds about 0.7 s. */
  readonly startupMs: number;
  /** SIGTERM, SIGKILL after a few seconds; resolves when the JVM has exited. No-op when stopped. */
  stop(): Promise<void>;
  /** Start again on the same ports with the same data dir (stops first if running). */
  restart(): Promise<void>;
  /** Stop and remove the temp dir. */
  close(): Promise<void>;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const STOP_GRACE_MS = 5_000;

/** The exact Kafka version of a release line, read from its pom. */
export function kafkaVersionOf(line: KafkaLine): string {
  const pom = readFileSync(join(repoRoot, 'scripts/deps/kafka', line, 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error(`no <kafka.version> in scripts/deps/kafka/${line}/pom.xml`);
  return version.trim();
}

export interface KafkaInstall {
  version: string;
  /** Directory of the broker's jars. */
  libs: string;
  /** Class-data-sharing archives from install-deps' training run (undefined when absent). */
  brokerArchive: string | undefined;
  toolArchive: string | undefined;
}

/** Where scripts/install-deps.sh put a release line's jars (throws if it has not run). */
export function kafkaInstall(line: KafkaLine): KafkaInstall {
  const version = kafkaVersionOf(line);
  const base = join(process.env.SPARKNGIN_CACHE ?? join(homedir(), '.cache/sparkngin'), 'kafka', version);
  const libs = join(base, 'libs');
  if (!existsSync(join(base, '.complete')) || !existsSync(join(libs, `kafka_2.13-${version}.jar`))) {
    throw new Error(`Kafka ${version} jars are not installed in ${libs}: run \`bash scripts/install-deps.sh\``);
  }
  const cds = existsSync(join(base, 'cds', '.complete')) && process.env.SPARKNGIN_KAFKA_CDS !== '0';
  const archive = (name: string) => (cds && existsSync(join(base, 'cds', name)) ? join(base, 'cds', name) : undefined);
  return { version, libs, brokerArchive: archive('broker.jsa'), toolArchive: archive('tool.jsa') };
}

// ---- process bookkeeping: nothing may outlive the test process -----------------------------------

const running = new Map<number, { child: ChildProcess; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid, { dir }] of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // the watchdog removes it a second later
      }
    }
  });
}

/** Kills the JVM (and removes its dir) once this test process is gone; ends by itself when the JVM
 *  exits first. Detached, so a signal to our process group does not take it down before its job. */
function startWatchdog(javaPid: number, dir: string): void {
  const script =
    'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'if ! kill -0 "$0" 2>/dev/null; then kill -9 "$1" 2>/dev/null; sleep 1; rm -rf "$2"; fi';
  const watchdog = spawn('sh', ['-c', script, String(process.pid), String(javaPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
}

// ---- files --------------------------------------------------------------------------------------

/** A Kafka Uuid string (16 random bytes, base64url without padding, not starting with '-'). */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const SECURE_LISTENERS = ['SSL', 'SASL_SSL', 'SASL_PLAINTEXT'] as const;
const SASL_USERS: KafkaSecurity['users'] = {
  plain: { username: 'plain-user', password: 'plain-secret' },
  scram256: { username: 'scram256-user', password: 'scram256-secret' },
  scram512: { username: 'scram512-user', password: 'scram512-secret' },
};

interface SecureFiles {
  /** Ports of SSL, SASL_SSL, SASL_PLAINTEXT. */
  ports: [number, number, number];
  keystore: string;
  truststore: string;
}

/** server.properties entries of the secured listeners. */
function securityProperties(secure: SecureFiles): Record<string, string> {
  const props: Record<string, string> = {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': secure.keystore,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': secure.truststore,
    'listener.name.ssl.ssl.client.auth': 'required',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
  };
  for (const listener of ['sasl_ssl', 'sasl_plaintext']) {
    const { username, password } = SASL_USERS.plain;
    props[`listener.name.${listener}.plain.sasl.jaas.config`] = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`;
    for (const scram of ['scram-sha-256', 'scram-sha-512']) {
      props[`listener.name.${listener}.${scram}.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    }
  }
  return props;
}

export function serverProperties(dir: string, port: number, controllerPort: number, options: StartKafkaOptions, secure?: SecureFiles): string {
  const extra = secure ? SECURE_LISTENERS.map((name, i) => `${name}://127.0.0.1:${secure.ports[i]}`) : [];
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: [`PLAINTEXT://127.0.0.1:${port}`, `CONTROLLER://127.0.0.1:${controllerPort}`, ...extra].join(','),
    'advertised.listeners': [`PLAINTEXT://127.0.0.1:${port}`, ...extra].join(','),
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...(secure ? SECURE_LISTENERS.map((name) => `${name}:${name}`) : [])].join(','),
    'log.dirs': join(dir, 'data'),
    'num.partitions': options.partitions ?? 1,
    'auto.create.topics.enable': true,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    // One partition instead of 50: a consumer group's first join is much quicker on a fresh broker.
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.io.threads': 4,
    'num.network.threads': 2,
    // The compaction buffer (128 MiB by default) would take a quarter of the small heap.
    'log.cleaner.dedupe.buffer.size': 16 * 1024 * 1024,
    ...(secure ? securityProperties(secure) : {}),
    ...options.config,
  };
  return `${Object.entries(props)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')}\n`;
}

// Quiet logging: warnings everywhere, progress of the server's start and stop.
const log4j1 = `log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
log4j.logger.kafka.Kafka$=INFO
`;
const log4j2 = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
`;

function tail(file: string, lines = 60): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function javaCommand(): string {
  return process.env.SPARKNGIN_JAVA ?? 'java';
}

/** JVM options shared by the broker and the storage tool; the class path comes last. */
function jvmArgs(dir: string, line: KafkaLine, libs: string, tuning: string[]): string[] {
  const logging =
    line === '3.9'
      ? `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`
      : `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`;
  return [
    ...tuning,
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    logging,
    ...(process.env.SPARKNGIN_KAFKA_JVM_OPTS ?? '').split(/\s+/).filter(Boolean),
    '-cp',
    `${libs}/*`,
  ];
}

/** Formats a node's storage; nodes of one cluster share `clusterId`. */
export async function format(dir: string, line: KafkaLine, install: KafkaInstall, scram: boolean, clusterId = randomClusterId()): Promise<void> {
  // A short-lived JVM: the C1 compiler alone and the serial collector start it fastest.
  const tuning = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
  if (install.toolArchive) tuning.push(`-XX:SharedArchiveFile=${install.toolArchive}`);
  const args = [
    ...jvmArgs(dir, line, install.libs, tuning),
    'kafka.tools.StorageTool',
    'format',
    '--cluster-id',
    clusterId,
    '--config',
    join(dir, 'server.properties'),
    ...(scram
      ? [
          '--add-scram',
          `SCRAM-SHA-256=[name=${SASL_USERS.scram256.username},password=${SASL_USERS.scram256.password}]`,
          '--add-scram',
          `SCRAM-SHA-512=[name=${SASL_USERS.scram512.username},password=${SASL_USERS.scram512.password}]`,
        ]
      : []),
  ];
  const result = await new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(javaCommand(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => done({ code: -1, output: `${output}\n${String(error)}` }));
    child.on('close', (code) => done({ code, output }));
  });
  await writeFile(join(dir, 'format.log'), result.output);
  if (result.code !== 0) throw new Error(`kafka storage format failed (exit ${result.code}):\n${result.output.slice(-4000)}`);
}

// ---- the peer -----------------------------------------------------------------------------------

function brokerTuning(install: KafkaInstall): string[] {
  // Kafka's own defaults (G1, short pauses) with a small heap: the machine has 2 cores, and tests
  // run two brokers side by side.
  const tuning = ['-Xmx512m', '-Xms256m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExplicitGCInvokesConcurrent'];
  if (install.brokerArchive) tuning.push(`-XX:SharedArchiveFile=${install.brokerArchive}`);
  return tuning;
}

export class BrokerProcess implements KafkaPeer {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  exitInfo: string | undefined;
  startupMs = 0;
  security: KafkaSecurity | undefined;
  private closed = false;

  constructor(
    readonly line: KafkaLine,
    readonly install: KafkaInstall,
    readonly dir: string,
    public port: number,
    public controllerPort: number,
    readonly startTimeoutMs: number,
  ) {}

  get version(): string {
    return this.install.version;
  }
  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }
  get logFile(): string {
    return join(this.dir, 'broker.log');
  }
  get pid(): number | undefined {
    return this.exitInfo === undefined ? this.child?.pid : undefined;
  }

  launch(): void {
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        javaCommand(),
        [...jvmArgs(this.dir, this.line, this.install.libs, brokerTuning(this.install)), 'kafka.Kafka', join(this.dir, 'server.properties')],
        { stdio: ['ignore', log, log], cwd: this.dir },
      );
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exitInfo = undefined;
    child.unref();
    this.exited = new Promise((done) => {
      child.once('error', (error) => {
        this.exitInfo = `could not start ${javaCommand()}: ${error.message}`;
        if (child.pid !== undefined) running.delete(child.pid);
        done();
      });
      child.once('exit', (code, signal) => {
        this.exitInfo = `exited with ${signal ?? `code ${code}`}`;
        if (child.pid !== undefined) running.delete(child.pid);
        done();
      });
    });
    if (child.pid !== undefined) {
      installExitHook();
      running.set(child.pid, { child, dir: this.dir });
      startWatchdog(child.pid, this.dir);
    }
  }

  /** Resolves once the broker answers metadata requests; throws (with the log's tail) on exit/timeout. */
  async waitReady(started: number): Promise<void> {
    const kafka = new Kafka({
      clientId: 'sparkngin-test-probe',
      brokers: [this.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
    });
    const deadline = started + this.startTimeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (this.exitInfo !== undefined) throw new Error(`Kafka ${this.version} ${this.exitInfo} before it was ready`);
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null) {
          await admin.listTopics();
          return;
        }
        lastError = 'no broker registered yet';
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`Kafka ${this.version} did not answer within ${this.startTimeoutMs} ms (last: ${lastError})`);
  }

  async start(): Promise<void> {
    const started = Date.now();
    this.launch();
    try {
      await this.waitReady(started);
    } catch (error) {
      await this.stop();
      throw new Error(`${(error as Error).message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    this.startupMs = Date.now() - started;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no clean shutdown, no flush; resolves when the JVM is gone. No-op when stopped. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo !== undefined) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    if (this.closed) throw new Error('restart() after close()');
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function bindFailure(file: string): boolean {
  return /BindException|Address already in use/.test(tail(file, 400));
}

/** The logging configuration of both release lines, in a node's dir. */
export async function writeLogConfig(dir: string): Promise<void> {
  await writeFile(join(dir, 'log4j.properties'), log4j1);
  await writeFile(join(dir, 'log4j2.properties'), log4j2);
}

/** Starts a one-node KRaft Kafka on free loopback ports; resolves when it answers clients. */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaPeer> {
  const line: KafkaLine = options.version ?? (process.env.SPARKNGIN_KAFKA_VERSION === '3.9' ? '3.9' : '4');
  const install = kafkaInstall(line);
  const version = install.version;
  const dir = await mkdtemp(join(tmpdir(), `sparkngin-kafka-${version}-`));
  try {
    await writeLogConfig(dir);
    const tls = options.security ? await brokerCertificates(join(dir, 'tls')) : undefined;
    // Another process may take a port between freePort() and the JVM's bind: then try fresh ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const controllerPort = await freePort();
      const secure: SecureFiles | undefined = tls && { ...tls, ports: [await freePort(), await freePort(), await freePort()] };
      await rm(join(dir, 'data'), { recursive: true, force: true });
      await mkdir(join(dir, 'data'));
      await writeFile(join(dir, 'server.properties'), serverProperties(dir, port, controllerPort, options, secure));
      await format(dir, line, install, secure !== undefined);
      const broker = new BrokerProcess(line, install, dir, port, controllerPort, options.startTimeoutMs ?? 90_000);
      if (tls && secure) {
        const [ssl, saslSsl, saslPlaintext] = secure.ports.map((p) => `127.0.0.1:${p}`) as [string, string, string];
        broker.security = { ssl, saslSsl, saslPlaintext, caFile: tls.truststore, client: tls.client, users: SASL_USERS };
      }
      try {
        await broker.start();
        return broker;
      } catch (error) {
        if (attempt < 3 && bindFailure(broker.logFile)) {
          await writeFile(broker.logFile, '');
          continue;
        }
        throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The broker's PEM key store (key and certificate in one file), the trust store (the CA) and a client certificate. */
async function brokerCertificates(dir: string): Promise<{ keystore: string; truststore: string; client: IssuedCert }> {
  await mkdir(dir, { recursive: true });
  const ca = await makeTestCa(dir, 'Sparkngin Kafka Test CA');
  const broker = await ca.issue('broker');
  const client = await ca.issue('sparkngin-client', { client: true });
  const keystore = join(dir, 'broker-keystore.pem');
  await writeFile(keystore, `${broker.keyPem}${broker.certPem}`);
  return { keystore, truststore: ca.cert, client };
}

/** `java -version` works (for a clear skip message in environments without Java). */
export function javaAvailable(): boolean {
  return spawnSync(javaCommand(), ['-version'], { stdio: 'ignore' }).status === 0;
}

/** Reads the whole broker log (for debugging a test). */
export async function readBrokerLog(peer: KafkaPeer): Promise<string> {
  return readFile(peer.logFile, 'utf8').catch(() => '');
}
