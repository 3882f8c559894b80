// A real three-node Apache Kafka cluster for chaos tests: three KRaft nodes, each broker and
// controller in one JVM (a three-voter quorum, so any one node may die), on free loopback ports,
// with replication factor 3 and min.insync.replicas=2 by default: a record acknowledged with
// acks=all is on at least two nodes, and producing goes on while any one node is down.
//
//   const cluster = await startKafkaCluster({ partitions: 3 });
//   ... cluster.brokers ('127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3') ...
//   const leader = await cluster.leaderOf('topic', 0);   // node id (1..3)
//   await cluster.node(leader).kill();                    // SIGKILL, no clean shutdown
//   await cluster.node(leader).restart();                 // same ports, same data
//   await cluster.close();
//
// Built from the one-node peer's parts (test/peers/kafka.ts): the same jars, JVM settings,
// per-JVM watchdog and exit hook, so no JVM outlives the test process either.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  bindFailure,
  BrokerProcess,
  format,
  type KafkaLine,
  kafkaInstall,
  randomClusterId,
  serverProperties,
  writeLogConfig,
} from './kafka';
import { freePorts } from './ports';

export interface StartKafkaClusterOptions {
  /** Release line (default: $SPARKNGIN_KAFKA_VERSION, else '4'). */
  version?: KafkaLine;
  /** Number of nodes (default 3). */
  nodes?: number;
  /** num.partitions for auto-created topics (default 3). */
  partitions?: number;
  /** default.replication.factor (default: the number of nodes). */
  replicationFactor?: number;
  /** min.insync.replicas (default 2). */
  minInsyncReplicas?: number;
  /** Extra or overriding server.properties entries for every node. */
  config?: Record<string, string | number | boolean>;
  /** How long to wait for the nodes to answer (default 120 s: three JVMs start on two cores). */
  startTimeoutMs?: number;
}

export interface KafkaCluster {
  /** Bootstrap addresses of every node, comma-separated. */
  readonly brokers: string;
  readonly version: string;
  readonly dir: string;
  /** Node ids, 1..n. */
  readonly nodeIds: number[];
  /** The node with this id: kill(), stop(), restart(), pid, logFile. */
  node(id: number): BrokerProcess;
  /** Node id of the current leader of a partition (asks a live node; -1 while there is none). */
  leaderOf(topic: string, partition: number): Promise<number>;
  /** Node ids in the in-sync replica set of a partition. */
  isrOf(topic: string, partition: number): Promise<number[]>;
  /** Stops every node and removes the temp dir. */
  close(): Promise<void>;
}

class Cluster implements KafkaCluster {
  constructor(
    readonly dir: string,
    readonly nodes: BrokerProcess[],
  ) {}

  get brokers(): string {
    return this.nodes.map((node) => node.brokers).join(',');
  }
  get version(): string {
    return this.nodes[0]!.version;
  }
  get nodeIds(): number[] {
    return this.nodes.map((_, index) => index + 1);
  }
  node(id: number): BrokerProcess {
    const node = this.nodes[id - 1];
    if (!node) throw new Error(`no Kafka node ${id} (nodes are 1..${this.nodes.length})`);
    return node;
  }

  private async partitionMetadata(topic: string, partition: number) {
    const live = this.nodes.filter((node) => node.pid !== undefined).map((node) => node.brokers);
    const admin = new Kafka({ clientId: 'sparkngin-test-cluster', brokers: live, logLevel: logLevel.NOTHING, connectionTimeout: 2_000, retry: { retries: 3 } }).admin();
    try {
      await admin.connect();
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]?.partitions.find((entry) => entry.partitionId === partition);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async leaderOf(topic: string, partition: number): Promise<number> {
    return (await this.partitionMetadata(topic, partition))?.leader ?? -1;
  }

  async isrOf(topic: string, partition: number): Promise<number[]> {
    return [...((await this.partitionMetadata(topic, partition))?.isr ?? [])].sort();
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Starts a KRaft cluster of combined nodes on free loopback ports; resolves when every node answers. */
export async function startKafkaCluster(options: StartKafkaClusterOptions = {}): Promise<KafkaCluster> {
  const line: KafkaLine = options.version ?? (process.env.SPARKNGIN_KAFKA_VERSION === '3.9' ? '3.9' : '4');
  const install = kafkaInstall(line);
  const count = options.nodes ?? 3;
  const replication = options.replicationFactor ?? count;
  const minIsr = options.minInsyncReplicas ?? Math.min(2, replication);
  const dir = await mkdtemp(join(tmpdir(), `sparkngin-kafka-cluster-${install.version}-`));
  try {
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(count * 2);
      const voters = Array.from({ length: count }, (_, i) => `${i + 1}@127.0.0.1:${ports[count + i]}`).join(',');
      const clusterId = randomClusterId();
      const nodes: BrokerProcess[] = [];
      for (let i = 0; i < count; i++) {
        const nodeDir = join(dir, `node-${i + 1}`);
        await rm(nodeDir, { recursive: true, force: true });
        await mkdir(join(nodeDir, 'data'), { recursive: true });
        await writeLogConfig(nodeDir);
        const port = ports[i]!;
        const controllerPort = ports[count + i]!;
        const config = {
          'node.id': i + 1,
          'controller.quorum.voters': voters,
          'default.replication.factor': replication,
          'min.insync.replicas': minIsr,
          'offsets.topic.replication.factor': replication,
          'transaction.state.log.replication.factor': replication,
          'transaction.state.log.min.isr': minIsr,
          'share.coordinator.state.topic.replication.factor': replication,
          'share.coordinator.state.topic.min.isr': minIsr,
          // A killed node's replicas leave the ISR after this long without fetching (default 30 s).
          'replica.lag.time.max.ms': 10_000,
          ...options.config,
        };
        await writeFile(join(nodeDir, 'server.properties'), serverProperties(nodeDir, port, controllerPort, { partitions: options.partitions ?? 3, config }));
        nodes.push(new BrokerProcess(line, install, nodeDir, port, controllerPort, options.startTimeoutMs ?? 120_000));
      }
      await Promise.all(nodes.map((node) => format(node.dir, line, install, false, clusterId)));
      const started = await Promise.allSettled(nodes.map((node) => node.start()));
      const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failure === undefined) return new Cluster(dir, nodes);
      await Promise.all(nodes.map((node) => node.stop()));
      if (attempt < 3 && nodes.some((node) => bindFailure(node.logFile))) continue;
      throw failure.reason;
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
