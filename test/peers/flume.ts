// A real Apache Flume agent for tests (org.apache.flume:flume-ng-node from Maven Central, cached by
// scripts/install-deps.sh from scripts/deps/flume/pom.xml): an HTTP source (JSONHandler) and an Avro
// source on free loopback ports, a file channel, and a file_roll sink that writes every event it
// takes as `{headers} body` lines (the header_and_text serializer) to one file that never rolls.
//
//   const flume = await startFlume();
//   ... flume.httpUrl, flume.avroPort ...
//   await flume.events()                         // what the file_roll sink wrote so far
//   await flume.stop(); await flume.start();     // an outage; the channel's files survive it
//   await flume.close();
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wholeLines } from '../lines';
import { restartablePeer } from './guard';
import { freePort } from './ports';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One line of the file_roll sink: the event's headers and its body. */
export interface FlumeEvent {
  headers: Record<string, string>;
  body: string;
}

export interface Flume {
  httpUrl: string;
  avroPort: number;
  /** The class path of the agent (for Flume's own avro-client, say). */
  classPath: string;
  events(): Promise<FlumeEvent[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The cached jars of the version scripts/deps/flume/pom.xml names. */
export function flumeLibs(): string {
  const pom = readFileSync(join(ROOT, 'scripts/deps/flume/pom.xml'), 'utf8');
  const version = /<flume\.version>([^<]+)<\/flume\.version>/.exec(pom)![1]!;
  const libs = join(process.env.SPARKNGIN_CACHE ?? join(homedir(), '.cache', 'sparkngin'), 'flume', version, 'libs');
  if (!existsSync(libs)) throw new Error(`no Flume jars in ${libs}: run scripts/install-deps.sh`);
  return libs;
}

/** `{a=1, b=x y} body` → headers and body (header values hold no ', ' or '}' in these tests). */
function parseLine(line: string): FlumeEvent {
  const end = line.indexOf('} ');
  const headers: Record<string, string> = {};
  for (const pair of line.slice(1, end).split(', ')) {
    const at = pair.indexOf('=');
    if (at > 0) headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { headers, body: line.slice(end + 2) };
}

export async function startFlume(): Promise<Flume> {
  const libs = flumeLibs();
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-flume-'));
  const out = join(dir, 'out');
  await mkdir(out);
  const httpPort = await freePort();
  const avroPort = await freePort();
  const conf = join(dir, 'agent.properties');
  await writeFile(
    conf,
    [
      'a1.sources = http avro',
      'a1.channels = c1',
      'a1.sinks = roll',
      'a1.sources.http.type = http',
      'a1.sources.http.bind = 127.0.0.1',
      `a1.sources.http.port = ${httpPort}`,
      'a1.sources.http.handler = org.apache.flume.source.http.JSONHandler',
      'a1.sources.http.channels = c1',
      'a1.sources.avro.type = avro',
      'a1.sources.avro.bind = 127.0.0.1',
      `a1.sources.avro.port = ${avroPort}`,
      'a1.sources.avro.channels = c1',
      'a1.channels.c1.type = file',
      `a1.channels.c1.checkpointDir = ${join(dir, 'checkpoint')}`,
      `a1.channels.c1.dataDirs = ${join(dir, 'data')}`,
      'a1.sinks.roll.type = file_roll',
      `a1.sinks.roll.sink.directory = ${out}`,
      'a1.sinks.roll.sink.rollInterval = 0',
      'a1.sinks.roll.sink.serializer = header_and_text',
      'a1.sinks.roll.batchSize = 1000',
      'a1.sinks.roll.channel = c1',
      '',
    ].join('\n'),
  );
  const classPath = `${resolve(libs)}/*`;
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const agent = restartablePeer(
    'the Flume agent',
    dir,
    () =>
      spawn(
        'java',
        ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classPath, 'org.apache.flume.node.Application', '-n', 'a1', '-f', conf],
        { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
      ),
    // Up once the HTTP source answers (a GET is refused with 405, but answered).
    () =>
      fetch(httpUrl).then(
        () => true,
        () => false,
      ),
    90_000,
  );
  await agent.start();
  return {
    httpUrl,
    avroPort,
    classPath,
    async events() {
      const files = await readdir(out);
      const texts = await Promise.all(files.sort().map((file) => readFile(join(out, file), 'utf8')));
      return texts.flatMap(wholeLines).map(parseLine);
    },
    stop: agent.stop,
    start: agent.start,
    async close() {
      await agent.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
