// Turns bench/results/<mode>/*.json into the generated section of bench/RESULTS.md (between the
// two `bench:generated` markers) and the plots in bench/results/<mode>/plots/*.svg.
//   node build/bench/report.mjs [smoke|full]      (bench/run-all.sh runs it last)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, median } from './lib/run';

type Mode = 'smoke' | 'full';
const mode: Mode = (process.argv[2] ?? process.env.BENCH_MODE) === 'full' ? 'full' : 'smoke';
const dir = join(benchDir, 'results', mode);
const plotsDir = join(dir, 'plots');
const START = '<!-- bench:generated:start -->';
const END = '<!-- bench:generated:end -->';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;
function load(name: string): Json | undefined {
  const file = join(dir, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const fixed = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : Number.NaN);
/** "12.3 % (9–31 %)": median of the runs' foreign CPU and its range. */
function foreign(runs: Array<{ result: { load?: { foreignPct: number } } }>): string {
  const values = runs.map((r) => r.result.load?.foreignPct).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (values.length === 0) return '—';
  const mid = values[Math.floor(values.length / 2)];
  return values.length === 1 ? `${mid} %` : `${mid} % (${values[0]}–${values.at(-1)} %)`;
}

interface Ratio {
  name: string;
  value: number;
  target?: number;
}

const machine = load('machine');
const ingest = load('ingest');
const e2e = load('e2e');
const kill9 = load('kill9');
const drain = load('drain');
const outage = load('outage');
const clients = load('clients');
const client = load('client');
const support = load('clients-support');
// A scaling.json of the old prototype's format (no `scenarios`) is skipped, not rendered.
const scaling = load('scaling');
const startup = load('startup');
const build = existsSync(join(benchDir, 'results', 'confluent-build.json')) ? JSON.parse(readFileSync(join(benchDir, 'results', 'confluent-build.json'), 'utf8')) : undefined;

const out: string[] = [];
const ratios: Ratio[] = [];
const plots: Array<{ file: string; title: string; spec: object }> = [];

out.push(START, `<!-- written by bench/report.ts from bench/results/${mode}/*.json: edit the generator, not this section -->`, '');
out.push(`## Generated: the last ${mode} run`, '');
if (mode === 'smoke') {
  out.push(
    '> **Smoke run: these numbers are NOT results.** They come from short runs (`bash bench/run-all.sh`, default',
    '> mode) on a machine shared with other work, made to check that every scenario runs end to end. The',
    '> `foreign CPU` column says how much of the machine other processes took during each run. The',
    '> definitive numbers come from `BENCH_MODE=full bash bench/run-all.sh` on a quiet machine.',
    '',
  );
}
if (machine) {
  const v = machine.versions;
  out.push('| | |', '|---|---|');
  out.push(`| date | ${machine.date} (commit ${machine.commit}${machine.dirty ? ', uncommitted changes' : ''}) |`);
  out.push(`| machine | ${machine.cpu}, ${machine.memoryGiB} GiB, kernel ${machine.kernel}; load average at start ${machine.loadavg.split(' ').slice(0, 3).join(' ')}; append + fdatasync in the temp dir ${machine.fdatasyncMs} ms (median of 50) |`);
  out.push(`| Node | ${v.node} (the \`node\` devDependency: daemon, kafkajs, @platformatic/kafka); ${v.node20} (the machine's: kafkajs@node20, and the confluent client, whose addon is built for it) |`);
  out.push(`| Kafka | ${v.kafka['3.9']} (one local KRaft broker, test/peers/kafka.ts; every topic created beforehand with 3 partitions) |`);
  out.push(`| references | ${v.nginx}, libnginx-mod-http-lua ${v['libnginx-mod-http-lua']}, lua-resty-kafka ${v['lua-nginx-kafka (lua-resty-kafka)']}; kcat ${v.kcat} (librdkafka ${v['kcat librdkafka']}); wrk ${v.wrk} |`);
  out.push(`| Kafka clients | kafkajs ${v.kafkajs}, @platformatic/kafka ${v['@platformatic/kafka']}, @confluentinc/kafka-javascript ${v['@confluentinc/kafka-javascript']} |`);
  out.push('');
}

if (ingest) {
  out.push(`### HTTP ingest, no Kafka (\`ingest.json\`)`, '', `\`${ingest.command}\`, ${ingest.runsPerVariant} run(s) per server, alternating; medians.`, '');
  out.push('| scenario | server | requests/s | events/s | p50 ms | p90 ms | p99 ms | foreign CPU |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const [scenario, s] of Object.entries<Json>(ingest.scenarios)) {
    for (const server of Object.keys(s.medianRequestsPerSecond)) {
      const runs = s.runs.filter((r: Json) => r.variant === server);
      out.push(`| ${scenario} | ${server} | ${int(s.medianRequestsPerSecond[server])} | ${server === 'sparkngin' ? int(s.medianEventsPerSecond[server]) : '—'} | ${fixed(s.medianP50Ms[server])} | ${fixed(s.medianP90Ms[server])} | ${fixed(s.medianP99Ms[server])} | ${foreign(runs)} |`);
    }
  }
  out.push('');
}

if (e2e) {
  out.push(`### HTTP → Kafka, Sparkngin against nginx + lua-resty-kafka (\`e2e.json\`)`, '');
  out.push(`\`${e2e.command}\`, ${e2e.runsPerVariant} run(s) each, alternating, Kafka ${e2e.kafka}. Delivered = records in the topic (end offsets) over the seconds from the load's start to the last record.`, '');
  out.push('Refused: requests answered other than 2xx (nginx + lua-resty-kafka answers 503 once its in-memory buffer is full; such quick answers also pull its latency percentiles down).', '');
  out.push('| scenario | server | accepted events/s | delivered events/s | drain after load, s | accepted, not in Kafka | refused requests | p50 ms | p99 ms | foreign CPU |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [scenario, s] of Object.entries<Json>(e2e.scenarios)) {
    for (const server of Object.keys(s.medianAcceptedPerSecond)) {
      const runs = s.runs.filter((r: Json) => r.variant === server);
      const drainS = runs.map((r: Json) => r.result.drainSecondsAfterLoad).sort((a: number, b: number) => a - b)[Math.floor(runs.length / 2)];
      const missing = runs.reduce((sum: number, r: Json) => sum + r.result.missing, 0);
      const refused = runs.reduce((sum: number, r: Json) => sum + r.result.wrk.non2xx, 0);
      out.push(`| ${scenario} | ${server} | ${int(s.medianAcceptedPerSecond[server])} | ${int(s.medianDeliveredPerSecond[server])} | ${fixed(drainS, 1)} | ${int(missing)} | ${int(refused)} | ${fixed(s.medianP50Ms[server])} | ${fixed(s.medianP99Ms[server])} | ${foreign(runs)} |`);
    }
    const label = scenario === 'single' ? 'single events' : 'NDJSON ×100';
    ratios.push({ name: `HTTP→Kafka ${label}, delivered (vs nginx+lua)`, value: ratio(s.medianDeliveredPerSecond.sparkngin, s.medianDeliveredPerSecond['nginx-lua-kafka']), target: scenario === 'single' ? 0.5 : 1 });
    ratios.push({ name: `HTTP→Kafka ${label}, accepted (vs nginx+lua)`, value: ratio(s.medianAcceptedPerSecond.sparkngin, s.medianAcceptedPerSecond['nginx-lua-kafka']) });
  }
  if (ingest) {
    ratios.push({ name: 'single-event ingest with delivery on (vs bare Node)', value: ratio(e2e.scenarios.single.medianAcceptedPerSecond.sparkngin, ingest.scenarios.single.medianRequestsPerSecond['bare-node']), target: 0.7 });
  }
  ratios.push({ name: 'NDJSON ingest with delivery on (vs 500 000/s)', value: ratio(e2e.scenarios.ndjson100.medianAcceptedPerSecond.sparkngin, 500_000), target: 1 });
  out.push('');
  e2eCpu(e2e);
}

/** Where the machine's cores went during the load (medians over runs). */
function e2eCpu(e2e: Json): void {
  const withCpu = Object.values<Json>(e2e.scenarios).some((s) => s.runs.some((r: Json) => r.result.cpu));
  if (!withCpu) return;
  out.push('CPU during the load, % of one core (machine busy: % of all its cores), medians over runs; "queued": runnable but waiting for a core. The server\'s busiest thread is its event loop (Sparkngin: the ingest thread; nginx: its worker).', '');
  out.push('| scenario | server | server CPU | its busiest thread | queued | broker | wrk | machine busy, % |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const [scenario, s] of Object.entries<Json>(e2e.scenarios)) {
    for (const server of Object.keys(s.medianAcceptedPerSecond)) {
      const runs = s.runs.filter((r: Json) => r.variant === server && r.result.cpu);
      if (runs.length === 0) continue;
      const at = (pick: (r: Json) => number) => fixed(median(runs.map(pick)), 0);
      out.push(`| ${scenario} | ${server} | ${at((r) => r.result.cpu.server.cpuPct)} | ${at((r) => r.result.cpu.server.busiestThread.cpuPct)} | ${at((r) => r.result.cpu.server.busiestThread.queuedPct)} | ${at((r) => r.result.cpu.broker.cpuPct)} | ${at((r) => r.result.cpu.wrk.cpuPct)} | ${at((r) => r.result.load.machineBusyPct)} |`);
    }
  }
  out.push('');
}

if (kill9) {
  out.push(`### kill -9 of the server under load (\`kill9.json\`)`, '');
  out.push(`${kill9.connections} connections of single events with sequence numbers for ${kill9.loadSeconds} s, then SIGKILL to every process of the server; Sparkngin restarted on its data dir and drained; the topic read back with kcat.`, '');
  out.push('| run | server | acknowledged | in Kafka | duplicates | **acknowledged, lost** |', '|---:|---|---:|---:|---:|---:|');
  for (const r of kill9.runs) out.push(`| ${r.index + 1} | ${r.variant} | ${int(r.result.acknowledged)} | ${int(r.result.inKafka)} | ${int(r.result.duplicates)} | **${int(r.result.lost)}** |`);
  out.push('');
}

if (drain) {
  out.push(`### Spooled backlog → Kafka, against kcat (\`drain.json\`)`, '');
  out.push(`${int(drain.events)} records of ${drain.recordBytes} bytes, ${drain.keys} keys, headers ${drain.headers.map((h: string) => `\`${h.split('=')[0]}\``).join(', ')}; fresh pre-created topic per run; ${drain.runsPerVariant} run(s) each, alternating.`, '');
  out.push(`kcat: \`${drain.command.kcat}\``, '');
  out.push('| producer | records/s, first to last record | records/s, from start | CPU s per million records | foreign CPU |', '|---|---:|---:|---:|---:|');
  for (const v of Object.keys(drain.medianSteadyPerSecond)) out.push(`| ${v} | ${int(drain.medianSteadyPerSecond[v])} | ${int(drain.medianWallPerSecond[v])} | ${fixed(drain.medianCpuSecondsPerMillion[v], 1)} | ${foreign(drain.runs.filter((r: Json) => r.variant === v))} |`);
  out.push('');
  ratios.push({ name: 'drain (vs kcat)', value: drain.ratioToKcat, target: 0.25 });
}

if (outage) {
  out.push(`### Kafka away for ${outage.outageSeconds} s under ${int(outage.targetEventsPerSecond)} events/s (\`outage.json\`)`, '');
  out.push('| accepted | refused | backlog at restart | drain s | drain events/s (from the first delivery) | delivered (/stats) | in Kafka | RSS during outage, MB | RSS max, MB |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  out.push(`| ${int(outage.accepted)} | ${int(outage.refused)} | ${int(outage.backlogAtRestart)} | ${fixed(outage.drainSeconds, 1)} | ${int(outage.drainEventsPerSecond)} (${int(outage.drainEventsPerSecondFromFirstDelivery)}) | ${int(outage.deliveredRecords)} | ${int(outage.recordsInKafka)} | ${outage.rssMbDuringOutage.min}–${outage.rssMbDuringOutage.max} | ${outage.rssMbOverall.max} |`, '');
  ratios.push({ name: `drain after the outage (vs the ${int(outage.targetEventsPerSecond)}/s it fell behind at)`, value: ratio(outage.drainEventsPerSecondFromFirstDelivery, outage.targetEventsPerSecond), target: 2 });
  ratios.push({ name: 'RSS headroom through the outage (150 MB / max RSS)', value: ratio(150, outage.rssMbDuringOutage.max), target: 1 });
  const series: Json[] = [];
  const s = outage.samples as Json[];
  for (let i = 1; i < s.length; i++) {
    const dt = s[i].t - s[i - 1].t;
    if (dt <= 0) continue;
    series.push({ t: s[i].t, phase: s[i].phase, metric: 'events/s', series: 'ingest (accepted)', value: (s[i].accepted - s[i - 1].accepted) / dt });
    series.push({ t: s[i].t, phase: s[i].phase, metric: 'events/s', series: 'delivery (to Kafka)', value: (s[i].delivered - s[i - 1].delivered) / dt });
    series.push({ t: s[i].t, phase: s[i].phase, metric: 'MB', series: 'RSS', value: s[i].rssMb });
    series.push({ t: s[i].t, phase: s[i].phase, metric: 'MB', series: 'spool', value: s[i].spoolMb });
  }
  const phases = ['outage', 'drain'].map((p) => ({ phase: p, from: s.find((x) => x.phase === p)?.t, to: s.filter((x) => x.phase === p).at(-1)?.t }));
  const panel = (metric: string, title: string) => ({
    height: 170,
    width: 640,
    layer: [
      { data: { values: phases }, mark: { type: 'rect', opacity: 0.12 }, encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, color: { field: 'phase', type: 'nominal', scale: { domain: ['outage', 'drain'], range: ['#d62728', '#2ca02c'] }, legend: { title: 'phase' } } } },
      { data: { values: series.filter((p) => p.metric === metric) }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 't', type: 'quantitative', title: 'seconds since start' }, y: { field: 'value', type: 'quantitative', title }, stroke: { field: 'series', type: 'nominal', legend: { title: null } } } },
    ],
    resolve: { scale: { color: 'independent' } },
  });
  plots.push({ file: 'outage.svg', title: `Outage run: ingest and delivery rates, RSS and spool size (Kafka down for ${outage.outageSeconds} s)`, spec: { vconcat: [panel('events/s', 'events/s'), panel('MB', 'MB')] } });
}

if (client) {
  const t = client.throughput;
  out.push(`### The client library (\`client.json\`)`, '');
  out.push(`Against a fresh daemon (spool only) per run, ${client.seconds} s each, ${client.runsPerVariant} run(s) each, alternating: wrk posting 100 events per request on 64 connections (wrk-ndjson100: an NDJSON body; wrk-nw1-100: the NW1 body the client sends for them), and bench/client-load.mjs (the ESM bundle, its own process) sending the same event through \`send()\`. p99: per request for wrk, per event (send() to its promise, batching wait included) for the client. CPU per event: the daemon's, and the client process's (the application's cost).`, '');
  out.push('| load | events/s | p99 ms | daemon CPU µs/event | client CPU µs/event | foreign CPU |', '|---|---:|---:|---:|---:|---:|');
  for (const v of Object.keys(t.medianEventsPerSecond)) {
    out.push(`| ${v} | ${int(t.medianEventsPerSecond[v])} | ${fixed(t.medianP99Ms[v])} | ${fixed(t.medianServerCpuMicrosPerEvent?.[v])} | ${v.startsWith('wrk-') ? '—' : fixed(t.medianClientCpuMicrosPerEvent?.[v])} | ${foreign(t.runs.filter((r: Json) => r.variant === v))} |`);
  }
  out.push('');
  if (t.clientOverWrkPerRound) out.push(`Client (batches of 100) over wrk NDJSON per round: ${t.clientOverWrkPerRound.join(', ')}; over wrk NW1 (medians): ${t.clientOverWrkNw1}.`, '');
  ratios.push({ name: 'client, batches of 100 (vs wrk, same body size)', value: t.clientOverWrk, target: 0.8 });
  const f = client.failover;
  out.push(`Failover: two daemons, the client streaming to both for ${client.failoverSeconds} s, SIGKILL of one at half time; failover = until every event sent before the kill is acknowledged (target < 2 s), first re-sent = until the first event whose batch failed is acknowledged by the other.`, '');
  out.push('| run | in flight at the kill | failover ms | first re-sent ms | acknowledged | failed |', '|---:|---:|---:|---:|---:|---:|');
  f.runs.forEach((r: Json, i: number) => out.push(`| ${i + 1} | ${int(r.inFlightAtKill)} | ${int(r.failoverMs)} | ${int(r.firstResentMs ?? undefined)} | ${int(r.acked)} | ${int(r.failed)} |`));
  out.push('');
  ratios.push({ name: 'client failover after SIGKILL, s (target: under 2)', value: f.medianFailoverMs / 1000 });
  const a = client.ackCost;
  out.push('ack=sink against ack=spool through the client (batches of 100, 64 in flight), one daemon delivering to the local Kafka:', '');
  out.push('| ack | events/s | p50 ms | p99 ms | foreign CPU |', '|---|---:|---:|---:|---:|');
  for (const v of Object.keys(a.medianEventsPerSecond)) out.push(`| ${v} | ${int(a.medianEventsPerSecond[v])} | ${fixed(a.medianP50Ms[v])} | ${fixed(a.medianP99Ms[v])} | ${foreign(a.runs.filter((r: Json) => r.variant === v))} |`);
  out.push('');
}

if (clients) {
  out.push(`### Kafka client bake-off (\`clients.json\`)`, '');
  out.push(`${int(clients.records)} records of ${clients.recordBytes} bytes with ${clients.headers} headers and ${clients.keys} keys, idempotent, acks=all, batches of ${clients.batch} with up to ${clients.inFlight} sends outstanding, pre-created topic of ${clients.partitions} partitions, Kafka ${clients.kafka}; ${clients.runsPerVariant} run(s) each, alternating; medians. CPU: the client's process (all threads) during the timed part; the whole process (start-up included) beside it.`, '');
  out.push('| client | records/s | vs kcat | CPU s / M records | whole process CPU s / M | broker CPU s / M | foreign CPU |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const c of Object.keys(clients.medianRecordsPerSecond)) {
    out.push(`| ${c} | ${int(clients.medianRecordsPerSecond[c])} | ${fixed(clients.ratioToKcat[c])} | ${fixed(clients.medianCpuSecondsPerMillion[c], 1)} | ${fixed(clients.medianProcessCpuSecondsPerMillion[c], 1)} | ${fixed(clients.medianBrokerCpuSecondsPerMillion[c], 1)} | ${foreign(clients.runs.filter((r: Json) => r.variant === c))} |`);
    if (c !== 'kcat') ratios.push({ name: `client ${c} (vs kcat)`, value: clients.ratioToKcat[c] });
  }
  out.push('');
  const bars = Object.keys(clients.medianRecordsPerSecond).flatMap((c) => [
    { client: c, metric: 'records/s (higher is better)', value: clients.medianRecordsPerSecond[c] },
    { client: c, metric: 'CPU seconds per million records (lower is better)', value: clients.medianCpuSecondsPerMillion[c] },
  ]);
  plots.push({ file: 'clients.svg', title: 'Kafka client bake-off: throughput and CPU cost', spec: { data: { values: bars }, facet: { row: { field: 'metric', type: 'nominal', title: null, header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelFontWeight: 'bold' } } }, resolve: { scale: { x: 'independent' } }, spec: { width: 520, height: 150, mark: 'bar', encoding: { y: { field: 'client', type: 'nominal', sort: '-x', title: null }, x: { field: 'value', type: 'quantitative', title: null }, color: { field: 'client', type: 'nominal', legend: null } } } } });
}
if (support) {
  out.push('What each client did with what the sink needs (`clients-support.json`): idempotent produce with the five headers read back by kcat, each codec (10 records, read back), and a batch of three whose middle record is larger than its topic allows (`max.message.bytes=1000`): the Kafka error the client reports, and how many of the batch were stored.', '');
  out.push('| client @ Kafka | headers | gzip | snappy | lz4 | zstd | too-large record: error | stored of 3 |', '|---|---|---|---|---|---|---|---:|');
  const cell = (v: Json) => (v === 'ok' ? 'ok' : `no (${v?.message ?? v})`);
  for (const [name, r] of Object.entries<Json>(support.results)) {
    out.push(`| ${name} | ${r.headersReadBack ? 'ok' : 'no'} | ${cell(r.gzip)} | ${cell(r.snappy)} | ${cell(r.lz4)} | ${cell(r.zstd)} | ${r.tooLarge?.rejected ? `\`${r.tooLarge.kafkaError ?? r.tooLarge.code}\` (${r.tooLarge.name})` : 'not rejected'} | ${r.tooLargeOthersDelivered} |`);
  }
  out.push('');
}
if (build) {
  out.push(`@confluentinc/kafka-javascript built from its bundled sources here (\`bench/kafka-clients/build-confluent.sh\`): ${fixed(build.seconds, 0)} s on ${build.cores} cores (load average ${build.loadavgBefore} when it started), librdkafka ${build.librdkafka}, addon + shared libraries ${fixed(build.addonAndLibsBytes / 2 ** 20, 1)} MiB unstripped.`, '');
}

// Latency percentiles per scenario and server.
const latency: Json[] = [];
for (const [source, data] of [['ingest', ingest], ['HTTP→Kafka', e2e]] as const) {
  if (!data) continue;
  for (const [scenario, s] of Object.entries<Json>(data.scenarios)) {
    for (const server of Object.keys(s.medianP50Ms)) {
      for (const p of ['p50', 'p90', 'p99'] as const) latency.push({ scenario: `${source} ${scenario}`, server, percentile: p, ms: s[`median${p.toUpperCase()}Ms`][server] });
    }
  }
}
if (latency.length > 0) {
  plots.push({
    file: 'latency.svg',
    title: 'Latency percentiles per scenario (wrk -t2 -c64, medians of the runs; log scale)',
    spec: {
      data: { values: latency },
      facet: { row: { field: 'scenario', type: 'nominal', title: null, header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelFontWeight: 'bold' } } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 480,
        height: { step: 24 },
        layer: [
          { mark: { type: 'rule', color: '#bbb' }, encoding: { y: { field: 'server', type: 'nominal', title: null }, x: { aggregate: 'min', field: 'ms', type: 'quantitative' }, x2: { aggregate: 'max', field: 'ms' } } },
          { mark: { type: 'point', filled: true, size: 90 }, encoding: { y: { field: 'server', type: 'nominal', title: null }, x: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } }, color: { field: 'percentile', type: 'ordinal', scale: { range: ['#1f77b4', '#ff7f0e', '#d62728'] } } } },
        ],
      },
    },
  });
}
if (scaling?.scenarios) {
  out.push(`### Ingest across cores (\`scaling.json\`)`, '');
  out.push(`The daemon itself (no sink), \`http.threads\` 1 under \`taskset -c 0\` against 2 under \`taskset -c 0,1\`; wrk -t2 -c64 unpinned (so it shares those cores), ${scaling.seconds} s, ${scaling.runsPerVariant} run(s) each, alternating. The main thread's CPU per event includes the one spool writer, the serial part.`, '');
  out.push('| body | threads, cores (taskset) | events/s | events/s per core | CPU s / M events, process | of it the main thread | foreign CPU |', '|---|---|---:|---:|---:|---:|---:|');
  for (const [body, s] of Object.entries(scaling.scenarios as Record<string, Json>)) {
    for (const v of Object.keys(s.medianEventsPerSecond)) {
      out.push(`| ${body} | ${v} | ${int(s.medianEventsPerSecond[v])} | ${int(s.medianEventsPerSecondPerCore[v])} | ${fixed(s.medianCpuSecondsPerMillion[v], 2)} | ${fixed(s.medianMainThreadCpuSecondsPerMillion[v], 2)} | ${foreign(s.runs.filter((r: Json) => r.variant === v))} |`);
    }
    const [one, two] = Object.values(s.medianEventsPerSecond) as number[];
    ratios.push({ name: `ingest ${body}, 2 threads on 2 cores (vs 1 on 1)`, value: ratio(two!, one!) });
  }
  out.push('');
}

if (startup) {
  out.push(`### Start-up of the single executable (\`startup.json\`)`, '');
  out.push(`\`${startup.executable.version}\`, ${(startup.executable.bytes / 1e6).toFixed(1)} MB; beside it the same bundle on the pinned Node. Spawn → the first TCP connection accepted (file sink, Kafka off): a first start on a fresh data dir (the target's measure; then RSS after 2 s idle) and a restart on the dir a previous start left; ${startup.runsPerVariant} runs each, alternating.`, '');
  out.push('| | data dir | to listening, ms, median | minimum | idle RSS, MB | foreign CPU |', '|---|---|---:|---:|---:|---:|');
  for (const v of ['executable', 'bundle', 'executable restart', 'bundle restart'].filter((v) => startup.medianMsToListening[v] !== undefined)) {
    const rss = startup.medianIdleRssMb[v];
    out.push(`| ${v.split(' ')[0]} | ${v.endsWith('restart') ? 'restart' : 'fresh'} | ${int(startup.medianMsToListening[v])} | ${int(startup.minMsToListening[v])} | ${rss === undefined ? '' : int(rss)} | ${foreign(startup.runs.filter((r: Json) => r.variant === v))} |`);
  }
  out.push('');
  ratios.push({ name: 'start-up headroom (100 ms / the executable\'s median to listening)', value: ratio(100, startup.medianMsToListening.executable), target: 1 });
}
if (ratios.length > 0) {
  out.push('### Side by side: every ratio', '', '| | ratio | target |', '|---|---:|---:|');
  for (const r of ratios) out.push(`| ${r.name} | ${fixed(r.value)}× | ${r.target === undefined ? '' : `≥ ${r.target}×${Number.isFinite(r.value) ? (r.value >= r.target ? ' met' : ' not met') : ''}`} |`);
  out.push('');
  const values = ratios.filter((r) => Number.isFinite(r.value));
  plots.push({
    file: 'ratios.svg',
    title: 'Every side-by-side ratio (bars) and its target (ticks)',
    spec: {
      width: 520,
      height: { step: 22 },
      layer: [
        { data: { values }, mark: 'bar', encoding: { y: { field: 'name', type: 'nominal', title: null, sort: null, axis: { labelLimit: 420 } }, x: { field: 'value', type: 'quantitative', title: 'ratio (1 = as fast as the reference)' }, color: { condition: { test: 'datum.target != null && datum.value >= datum.target', value: '#2ca02c' }, value: '#9467bd' } } },
        { data: { values: values.filter((r) => r.target !== undefined) }, mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y: { field: 'name', type: 'nominal', sort: null }, x: { field: 'target', type: 'quantitative' } } },
        { data: { values: [{ x: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
      ],
    },
  });
}

// Plots: rendered with vega from bench/node_modules (bench/plots.mjs); skipped with a note when absent.
const plotter = join(benchDir, 'plots.mjs');
if (plots.length > 0) {
  out.push('### Plots', '');
  try {
    const { renderSvg } = (await import(pathToFileURL(plotter).href)) as { renderSvg: (spec: object) => Promise<string> };
    mkdirSync(plotsDir, { recursive: true });
    for (const p of plots) {
      writeFileSync(join(plotsDir, p.file), await renderSvg({ title: p.title, ...p.spec }));
      out.push(`![${p.title}](results/${mode}/plots/${p.file})`, '');
    }
  } catch (error) {
    out.push(`(plots not rendered: ${(error as Error).message.split('\n')[0]}; run \`bash bench/setup.sh\`)`, '');
  }
}
out.push(END);

const resultsMd = join(benchDir, 'RESULTS.md');
const text = readFileSync(resultsMd, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
const next = from >= 0 && to > from ? text.slice(0, from) + out.join('\n') + text.slice(to + END.length) : `${text.trimEnd()}\n\n${out.join('\n')}\n`;
writeFileSync(resultsMd, next);
console.log(`bench: RESULTS.md generated section from ${dir}${plots.length ? `, ${plots.length} plots in ${plotsDir}` : ''}`);
