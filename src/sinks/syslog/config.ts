// The syslog sink's settings (`sinks.syslog`, or any instance of `kind: syslog`): RFC 5424 messages
// over UDP, TCP (RFC 6587 octet counting) or TLS (RFC 5425), on once an endpoint is given.
import { resolve } from 'node:path';
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';
import { FACILITIES, SEVERITIES } from './message';

export interface SyslogTlsConfig {
  /** CA certificates (PEM file) the server's certificate is checked against; '' = the system's. */
  ca: string;
  /** Client certificate (PEM file), for servers that require one. */
  cert: string;
  /** Its private key (PEM file). */
  key: string;
  /** Host name expected in the server's certificate, when it is not the endpoint's. */
  servername: string;
}

export interface SyslogSinkConfig extends CommonSinkConfig {
  /** `udp://HOST:PORT`, `tcp://HOST:PORT` or `tls://HOST:PORT`; setting it turns the sink on unless `enabled: false`. */
  endpoint: string;
  /** Facility of every message, unless the event's `syslog-facility` header names another. */
  facility: string;
  /** Severity of every message, unless the event's `syslog-severity` header names another. */
  severity: string;
  /** APP-NAME of every message, unless the event's `syslog-app-name` header gives another. */
  appName: string;
  /** HOSTNAME of every message; '' = the host that received the event. */
  hostname: string;
  /** SD-ID of the structured data element that carries the event's id, topic and key. */
  sdId: string;
  /** TCP and TLS: bytes of the latest messages kept to send again after the connection breaks (what the kernels had not yet handed to the server). */
  resendBytes: number;
  /** Timeout of a connection attempt, in ms. */
  connectionTimeoutMs: number;
  tls: SyslogTlsConfig;
}

export const SYSLOG_ENDPOINT = /^(udp|tcp|tls):\/\/((?:[^\s:[\]/]+|\[[0-9a-fA-F:]+\])):(\d{1,5})$/;

export const syslogKind: SinkKind<SyslogSinkConfig> = {
  kind: 'syslog',
  defaults: () => ({
    ...commonDefaults('syslog', false, { maxRecords: 1_000, maxBytes: 1 * MiB, lingerMs: 0 }, DEFAULT_RETRY),
    endpoint: '',
    facility: 'user',
    severity: 'info',
    appName: 'sparkngin',
    hostname: '',
    sdId: 'sparkngin@32473',
    resendBytes: 8 * MiB,
    connectionTimeoutMs: 3_000,
    tls: { ca: '', cert: '', key: '', servername: '' },
  }),
  switch: 'endpoint',
  enums: { facility: Object.keys(FACILITIES), severity: Object.keys(SEVERITIES) },
  sizeKeys: ['resendBytes'],
  check(config, complain) {
    const endpoint = SYSLOG_ENDPOINT.exec(config.endpoint);
    if (config.endpoint !== '' && (endpoint === null || Number(endpoint[3]) > 65535)) complain('endpoint', `expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT, got '${config.endpoint}'`);
    if (config.enabled && config.endpoint === '') complain('endpoint', 'the syslog sink is enabled but no endpoint is given');
    if (!/^[!-~]{1,48}$/.test(config.appName)) complain('appName', 'expected 1 to 48 printable ASCII characters (RFC 5424 APP-NAME)');
    if (config.hostname !== '' && !/^[!-~]{1,255}$/.test(config.hostname)) complain('hostname', 'expected 1 to 255 printable ASCII characters (RFC 5424 HOSTNAME)');
    if (!/^[!#-<>-Z\\^-~]{1,32}$/.test(config.sdId) || (!config.sdId.includes('@') && !['timeQuality', 'origin', 'meta'].includes(config.sdId))) {
      complain('sdId', "expected NAME@NUMBER (RFC 5424 SD-ID: 1 to 32 printable ASCII characters but '=', ']', '\"' and space)");
    }
    const files = (['ca', 'cert', 'key', 'servername'] as const).filter((name) => config.tls[name] !== '');
    if (files.length > 0 && endpoint !== null && endpoint[1] !== 'tls') complain(`tls.${files[0]}`, 'set, but the endpoint is not tls://');
    if ((config.tls.cert === '') !== (config.tls.key === '')) complain('tls.cert, tls.key', 'give both (the client certificate and its private key) or neither');
  },
  resolve(config) {
    for (const name of ['cert', 'key', 'ca'] as const) if (config.tls[name] !== '') config.tls[name] = resolve(config.tls[name]);
  },
  async create(name, config, logger) {
    const { SyslogSink } = await import('./sink');
    return new SyslogSink(name, config, logger);
  },
};
