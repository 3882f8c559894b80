// Delivery of a spooled backlog by the ZeroMQ, syslog and Flume sinks, each beside a reference that
// sends the same messages to the same real peer, runs alternating (issue 11's numbers):
//   zeromq  PUSH sink → a PULL peer (bench/sinks/zmq-pull.mjs)  vs  a bare zeromq PUSH (zmq-push.mjs)
//   syslog  TCP sink, RFC 6587 octet counting → rsyslogd (imptcp)  vs  util-linux `logger --tcp --octet-count -f`
//   flume   sink → the agent's HTTP source (JSONHandler), and sink (protocol avro) → its Avro source,
//           vs  Flume's own avro-client → its Avro source, at the sink's batch of 100
// Each Sparkngin run starts the daemon on a copy of a spool filled beforehand (the sink configured
// but its peer absent, so its cursor stays at the start): the time measured is the sink's drain, not
// ingest. Every rate is read on the peer's side, from the first message to the last: the PULL
// peer's own clock, rsyslog's output file (new lines, sampled), Flume's source counters (its HTTP
// monitoring, EventAcceptedCount: events its channel committed). JVM and process start-up stay
// outside every rate. Peers start once per kind (rsyslog, Flume) or once per run (PULL) and stop at
// the end, however it ends. BENCH_SINKS=zeromq,syslog,flume picks kinds.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFlume } from '../../test/peers/flume';
import { freePort } from '../../test/peers/ports';
import { startRsyslog } from '../../test/peers/rsyslog';
import { runTimed, writeKcatInput } from '../lib/kcat';
import { alternate, benchDir, cpuSecondsOf, exited, medians, runs, setting, sleep, spawnOwned, watchLoad, writeResult } from '../lib/run';
import { type Server, startSparkngin } from '../lib/servers';

const line = JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0' });
const KINDS = ['zeromq', 'syslog', 'flume'] as const;
type Kind = (typeof KINDS)[number];
const counts: Record<Kind, number> = {
  zeromq: setting('BENCH_SINK_ZEROMQ_EVENTS', 300_000, 3_000_000),
  syslog: setting('BENCH_SINK_SYSLOG_EVENTS', 100_000, 1_000_000),
  flume: setting('BENCH_SINK_FLUME_EVENTS', 50_000, 500_000),
};
const QUIET_MS = 30_000;

/** What one run measured on the peer's side. */
interface Delivery {
  delivered: number;
  /** events / s from the first to the last event the peer saw */
  perSecond: number;
  /** epoch ms of the first and last event at the peer */
  firstMs: number | undefined;
  lastMs: number | undefined;
  /** CPU seconds per million events of the sender: the daemon from its /stats answering (its start-up left out) to the peer's last event, or the reference's whole process (its start-up in) */
  senderCpuSecondsPerMillion: number;
}

function rate(delivered: number, firstMs: number | undefined, lastMs: number | undefined): number {
  return firstMs !== undefined && lastMs !== undefined && lastMs > firstMs ? delivered / ((lastMs - firstMs) / 1000) : Number.NaN;
}

/** Samples an event count every 20 ms until `expected` or nothing new for QUIET_MS: first and last change. */
async function trace(count: () => Promise<number> | number, expected: number): Promise<{ delivered: number; firstMs: number | undefined; lastMs: number | undefined }> {
  const base = await count();
  let seen = 0;
  let firstMs: number | undefined;
  let lastMs: number | undefined;
  let changedAt = Date.now();
  while (seen < expected && Date.now() - changedAt < QUIET_MS) {
    await sleep(20);
    const now = (await count()) - base;
    if (now === seen) continue;
    changedAt = Date.now();
    firstMs ??= changedAt;
    lastMs = changedAt;
    seen = now;
  }
  return { delivered: seen, firstMs, lastMs };
}

/** Counts the lines appended to a file, reading only what is new each time. */
function lineCounter(file: string): () => number {
  let offset = 0;
  let lines = 0;
  const buffer = Buffer.alloc(1 << 20);
  return () => {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      return lines;
    }
    if (size <= offset) return lines;
    const fd = openSync(file, 'r');
    try {
      for (let n; offset < size && (n = readSync(fd, buffer, 0, buffer.length, offset)) > 0; offset += n) {
        for (let i = 0; i < n; i++) if (buffer[i] === 10) lines++;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

/** A spool holding `events` for the sink `sinkYaml` configures toward a peer that is not there. */
async function fillSpool(dataDir: string, sinkYaml: string, events: number): Promise<void> {
  const server = await startSparkngin({ dataDir, sinksYaml: sinkYaml });
  const perRequest = 1000;
  const body = `${Array.from({ length: perRequest }, () => line).join('\n')}\n`;
  try {
    for (let i = 0; i < events / perRequest; i++) {
      const res = await fetch(`${server.url}/v1/topics/sbench?key=k${i % 50}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      if (res.status !== 202) throw new Error(`filling the spool: ${res.status} ${await res.text()}`);
    }
  } finally {
    await server.stop();
  }
}

/** The kind's filled spool, and the same lines in a file for a reference that reads one. */
async function backlog(dir: string, kind: Kind, deadSinkYaml: string, events: number): Promise<{ spool: string; input: string }> {
  const spool = join(dir, kind);
  await fillSpool(spool, deadSinkYaml, events);
  const input = join(dir, `${kind}.txt`);
  writeKcatInput(input, events, () => `${line}\n`);
  return { spool, input };
}

/** The daemon on a copy of `spool` with `sinkYaml`, until `measure` (the peer's trace) ends. */
async function sparkngin(spool: string, sinkYaml: string, events: number, measure: () => Promise<{ delivered: number; firstMs: number | undefined; lastMs: number | undefined }>, peerPids: () => Array<number | undefined>) {
  const copy = `${spool}-run`;
  execFileSync('cp', ['-a', spool, copy]);
  let server: Server | undefined;
  try {
    const started = measure();
    server = await startSparkngin({ dataDir: copy, sinksYaml: sinkYaml });
    const daemon = server;
    const load = watchLoad(() => [...daemon.pids(), ...peerPids()]);
    const cpuBefore = cpuSecondsOf(daemon.mainPid);
    const peer = peerCpu(peerPids);
    const trace = await started;
    const cpu = cpuSecondsOf(daemon.mainPid) - cpuBefore;
    return { ...trace, perSecond: rate(trace.delivered, trace.firstMs, trace.lastMs), senderCpuSecondsPerMillion: (cpu * 1e6) / events, peerCpuSecondsPerMillion: peer(events), load: load.stop() };
  } finally {
    await server?.stop();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** The reference sender beside the same peer trace. */
async function reference(argv: string[], events: number, measure: () => Promise<{ delivered: number; firstMs: number | undefined; lastMs: number | undefined }>, peerPids: () => Array<number | undefined>) {
  const load = watchLoad(peerPids);
  const peer = peerCpu(peerPids);
  const [trace, sent] = await Promise.all([measure(), runTimed(argv)]);
  return { ...trace, perSecond: rate(trace.delivered, trace.firstMs, trace.lastMs), senderCpuSecondsPerMillion: (sent.cpuSeconds * 1e6) / events, senderWallSeconds: sent.wallSeconds, peerCpuSecondsPerMillion: peer(events), load: load.stop() };
}

/** CPU seconds per million events the peer (rsyslogd, the Flume agent) spent from now; NaN for a peer gone since (the PULL peer). */
function peerCpu(peerPids: () => Array<number | undefined>): (events: number) => number {
  const pids = peerPids();
  const before = pids.map(cpuSecondsOf);
  return (events) => {
    const after = pids.map(cpuSecondsOf);
    return after.some((v) => v === 0) ? Number.NaN : (after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)) * 1e6 / events;
  };
}

/** A child of this process (a peer the tests' harness started) whose command line holds `text`. */
function childPid(text: string): number | undefined {
  const children = readdirSync(`/proc/${process.pid}/task`).flatMap((task) => readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  return children.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

// ---- ZeroMQ ---------------------------------------------------------------------------------------

/** The PULL peer, in its own process: resolves with what it received. */
function pullPeer(endpoint: string, expected: number): { child: ChildProcess; done: Promise<{ delivered: number; firstMs: number | undefined; lastMs: number | undefined }> } {
  const child = spawnOwned(process.execPath, [join(benchDir, 'sinks', 'zmq-pull.mjs'), endpoint, String(expected), String(QUIET_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const done = exited(child).then(() => {
    const result = JSON.parse(out.trim()) as { received: number; firstMs?: number; lastMs?: number };
    return { delivered: result.received, firstMs: result.firstMs, lastMs: result.lastMs };
  });
  return { child, done };
}

async function zeromq(dir: string, events: number) {
  const sinkYaml = (port: number) => `  zeromq: {endpoint: 'tcp://127.0.0.1:${port}', socket: push, framing: raw}\n`;
  const spool = join(dir, 'zeromq');
  await fillSpool(spool, sinkYaml(await freePort()), events);
  return alternate<'sparkngin' | 'zeromq-push', Delivery>(['sparkngin', 'zeromq-push'], runs, async (variant) => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const peer = pullPeer(endpoint, events);
    const pids = () => [peer.child.pid];
    if (variant === 'sparkngin') return sparkngin(spool, sinkYaml(port), events, () => peer.done, pids);
    return reference([process.execPath, join(benchDir, 'sinks', 'zmq-push.mjs'), endpoint, String(events), line], events, () => peer.done, pids);
  });
}

// ---- syslog ---------------------------------------------------------------------------------------

const LOGGER_ARGS = ['--tcp', '--octet-count', '--rfc5424', '-t', 'sparkngin'];

async function syslog(dir: string, events: number) {
  const { spool, input } = await backlog(dir, 'syslog', `  syslog: {endpoint: 'tcp://127.0.0.1:${await freePort()}'}\n`, events);
  const rsyslog = await startRsyslog();
  try {
    const rsyslogPid = () => [childPid('rsyslogd')];
    const counter = lineCounter(rsyslog.file('tcp'));
    const measure = () => trace(counter, events);
    const sinkYaml = (more = '') => `  syslog: {endpoint: 'tcp://127.0.0.1:${rsyslog.ports.tcp}'${more}}\n`;
    // A third variant keeps only 64 KiB of messages to resend after a broken connection (default
    // 8 MiB): what the resend window costs per message once full.
    return await alternate<'sparkngin' | 'logger' | 'sparkngin-resend64k', Delivery>(['sparkngin', 'logger', 'sparkngin-resend64k'], runs, (variant) =>
      variant === 'logger'
        ? reference(['logger', ...LOGGER_ARGS, '-n', '127.0.0.1', '-P', String(rsyslog.ports.tcp), '-f', input], events, measure, rsyslogPid)
        : sparkngin(spool, sinkYaml(variant === 'sparkngin' ? '' : ', resendBytes: 65536'), events, measure, rsyslogPid),
    );
  } finally {
    await rsyslog.close();
  }
}

// ---- Flume ----------------------------------------------------------------------------------------

let flumeCounters: unknown;

async function flume(dir: string, events: number) {
  const { spool, input } = await backlog(dir, 'flume', `  flume: {endpoint: 'http://127.0.0.1:${await freePort()}'}\n`, events);
  // Flume's HTTP monitoring (its sources' counters as JSON) is turned on by system properties,
  // given to the agent's JVM through JAVA_TOOL_OPTIONS so that the tests' harness stays as it is.
  const monitoring = await freePort();
  process.env.JAVA_TOOL_OPTIONS = `-Dflume.monitoring.type=http -Dflume.monitoring.port=${monitoring}`;
  const agent = await startFlume().finally(() => delete process.env.JAVA_TOOL_OPTIONS);
  try {
    const accepted = async () => {
      const metrics = (await (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).json()) as Record<string, Record<string, string>>;
      return Number(metrics['SOURCE.http']?.EventAcceptedCount ?? 0) + Number(metrics['SOURCE.avro']?.EventAcceptedCount ?? 0);
    };
    const measure = () => trace(accepted, events);
    const sinkYaml = (variant: string) => (variant === 'sparkngin-avro' ? `  flume: {protocol: avro, endpoint: '127.0.0.1:${agent.avroPort}'}\n` : `  flume: {endpoint: '${agent.httpUrl}'}\n`);
    const agentPid = () => [childPid('org.apache.flume.node.Application')];
    // avro-client given --host/--port sends batches of 5 (AvroCLIClient.BATCH_SIZE); its --rpcProps
    // file sets the batch, here to the sink's 100. Both run: the second is the reference.
    const props = join(dir, 'avro-client.properties');
    writeFileSync(props, `hosts = h1\nhosts.h1 = 127.0.0.1:${agent.avroPort}\nbatch-size = 100\n`);
    const avroClient = (target: string[]) => ['java', '-Xmx256m', '-XX:+UseSerialGC', '-cp', agent.classPath, 'org.apache.flume.client.avro.AvroCLIClient', ...target, '-F', input];
    const all = await alternate<'sparkngin' | 'sparkngin-avro' | 'avro-client' | 'avro-client-batch5', Delivery>(['sparkngin', 'sparkngin-avro', 'avro-client', 'avro-client-batch5'], runs, (variant) =>
      variant.startsWith('sparkngin')
        ? sparkngin(spool, sinkYaml(variant), events, measure, agentPid)
        : reference(avroClient(variant === 'avro-client' ? ['--rpcProps', props] : ['-H', '127.0.0.1', '-p', String(agent.avroPort)]), events, measure, agentPid),
    );
    // The sources' counters at the end (batches, connections): what each sender did, seen by Flume.
    flumeCounters = await (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).json();
    return all;
  } finally {
    await agent.close();
  }
}

// ---- the scenario ---------------------------------------------------------------------------------

const REFERENCES: Record<Kind, { reference: string; command: string; target?: number }> = {
  zeromq: { reference: 'zeromq-push', command: 'node bench/sinks/zmq-push.mjs <endpoint> <events> <line> (bare zeromq v6 PUSH, bound, HWM 1000) → node bench/sinks/zmq-pull.mjs', target: 0.5 },
  syslog: { reference: 'logger', command: `logger ${LOGGER_ARGS.join(' ')} -n 127.0.0.1 -P <imptcp port> -f <file of the same lines> (util-linux) → rsyslogd imptcp → omfile` },
  flume: { reference: 'avro-client', command: "java -cp <flume libs> org.apache.flume.client.avro.AvroCLIClient --rpcProps <hosts.h1 = 127.0.0.1:<avro port>, batch-size = 100> -F <file of the same lines> (flume-ng avro-client) → Avro source; avro-client-batch5: the same with -H 127.0.0.1 -p <avro port> (its fixed batch of 5); Sparkngin → HTTP source (JSONHandler, batch 100); sparkngin-avro: Sparkngin with protocol avro → Avro source (appendBatch, batch 100); one file channel, file_roll sink" },
};

export async function sinks(): Promise<void> {
  const wanted = (process.env.BENCH_SINKS ?? KINDS.join(',')).split(',') as Kind[];
  for (const kind of wanted) if (!KINDS.includes(kind)) throw new Error(`BENCH_SINKS: unknown kind ${kind} (${KINDS.join(', ')})`);
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-sinks-'));
  const results: Record<string, object> = {};
  try {
    for (const kind of wanted) {
      const events = counts[kind];
      console.log(`bench: sink ${kind}, ${events} events`);
      const all = await { zeromq, syslog, flume }[kind](dir, events);
      const { reference, command, target } = REFERENCES[kind];
      const perSecond = medians(all, (r) => r.perSecond);
      results[kind] = {
        events,
        recordBytes: line.length,
        command,
        runs: all,
        missing: all.filter(({ result }) => result.delivered < events).map(({ variant, index, result }) => ({ variant, index, delivered: result.delivered })),
        medianPerSecond: perSecond,
        medianSenderCpuSecondsPerMillion: medians(all, (r) => r.senderCpuSecondsPerMillion),
        ratio: (perSecond.sparkngin ?? Number.NaN) / (perSecond[reference] ?? Number.NaN),
        reference,
        ...(target === undefined ? {} : { target }),
        // The Avro sink against avro-client at the same batch and source: like against like.
        ...(kind === 'flume' ? { avroRatio: (perSecond['sparkngin-avro'] ?? Number.NaN) / (perSecond['avro-client'] ?? Number.NaN), agentCounters: flumeCounters } : {}),
      };
      console.log(`bench: sink ${kind}: sparkngin ${Math.round(perSecond.sparkngin ?? 0)}/s, ${reference} ${Math.round(perSecond[reference] ?? 0)}/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeResult('sinks', { runsPerVariant: runs, zeromqIngest: 'not a scenario of this harness: bench/micro/zmq-ingest.mjs measures it (bench/RESULTS.md, Sinks)', ...results });
}
