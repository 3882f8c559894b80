// A real rsyslogd for tests (Debian's rsyslog, rsyslog-gnutls): its own config, work directory and
// ports on 127.0.0.1, in the foreground (-n), never the system's service. Three inputs, each writing
// what it receives as one JSON line per message to a file of its own:
//   udp  imudp                                  → udp.log
//   tcp  imptcp (RFC 6587 octet counting)        → tcp.log
//   tls  imtcp over gtls, a test CA's certificate → tls.log
// imudp gets a 16 MiB receive buffer (as root rsyslog forces it): a burst of datagrams on loopback
// would overflow the default one, and UDP has no way to ask again. Control characters are kept as received (parser.escapeControlCharactersOnReceive off), so a
// multi-line message is one JSON line whose `msg` holds the newlines.
//
//   const syslog = await startRsyslog();
//   ... syslog.ports.tcp, syslog.ca (the CA file a client trusts) ...
//   await syslog.records('tcp')       // the messages so far, parsed
//   await syslog.stop(); await syslog.start();   // an outage, same ports
//   await syslog.close();
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wholeLines } from '../lines';
import { restartablePeer } from './guard';
import { freePort } from './ports';
import { makeTestCa } from './test-ca';

export type SyslogInput = 'udp' | 'tcp' | 'tls';

/** A message as rsyslog parsed it (RFC 5424 fields). */
export interface SyslogRecord {
  facility: string;
  severity: string;
  app: string;
  host: string;
  msgid: string;
  sd: string;
  msg: string;
}

export interface Rsyslog {
  ports: Record<SyslogInput, number>;
  /** The test CA's certificate: what a TLS client trusts. */
  ca: string;
  records(input: SyslogInput): Promise<SyslogRecord[]>;
  /** The file an input's messages go to, one JSON line each (what the sink benchmark counts). */
  file(input: SyslogInput): string;
  /** Stops rsyslogd (SIGTERM, waiting for its exit): connections break, the ports refuse. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and files. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const FIELDS: Array<[keyof SyslogRecord, string]> = [
  ['facility', 'syslogfacility-text'],
  ['severity', 'syslogseverity-text'],
  ['app', 'app-name'],
  ['host', 'hostname'],
  ['msgid', 'msgid'],
  ['sd', 'structured-data'],
  ['msg', 'msg'],
];

function config(dir: string, ports: Record<SyslogInput, number>, tls: { ca: string; cert: string; key: string }): string {
  const template = FIELDS.map(([name, property], i) => `constant(value="${i === 0 ? '{' : ','}\\"${name}\\":\\"") property(name="${property}" format="json") constant(value="\\"")`).join('\n  ');
  const output = (input: SyslogInput) =>
    `ruleset(name="${input}") { action(type="omfile" file="${join(dir, `${input}.log`)}" template="record" flushOnTXEnd="on" asyncWriting="off") }`;
  return `
global(workDirectory="${join(dir, 'work')}" maxMessageSize="1m" parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriverCAFile="${tls.ca}" defaultNetstreamDriverCertFile="${tls.cert}" defaultNetstreamDriverKeyFile="${tls.key}")
module(load="imudp")
module(load="imptcp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="record" type="list") {
  ${template}
  constant(value="}\\n")
}
${output('udp')}
${output('tcp')}
${output('tls')}
input(type="imudp" address="127.0.0.1" port="${ports.udp}" ruleset="udp" rcvbufSize="16m")
input(type="imptcp" address="127.0.0.1" port="${ports.tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="${ports.tls}" ruleset="tls")
`;
}

export async function startRsyslog(): Promise<Rsyslog> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkngin-rsyslog-'));
  await mkdir(join(dir, 'work'));
  const ca = await makeTestCa(dir, 'Sparkngin rsyslog Test CA');
  const server = await ca.issue('rsyslog');
  const ports = { udp: await freePort(), tcp: await freePort(), tls: await freePort() };
  const file = join(dir, 'rsyslog.conf');
  await writeFile(file, config(dir, ports, { ca: ca.cert, cert: server.cert, key: server.key }));
  const daemon = restartablePeer(
    'rsyslogd',
    dir,
    () => spawn('rsyslogd', ['-n', '-f', file, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] }),
    // Up once the stream inputs take connections (imudp binds before them).
    async () => (await accepts(ports.tcp)) && (await accepts(ports.tls)),
    30_000,
  );
  await daemon.start();
  return {
    ports,
    ca: ca.cert,
    async records(input) {
      const text = await readFile(join(dir, `${input}.log`), 'utf8').catch(() => '');
      return wholeLines(text).map((line) => JSON.parse(line) as SyslogRecord);
    },
    file: (input) => join(dir, `${input}.log`),
    stop: daemon.stop,
    start: daemon.start,
    async close() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
