// Envelope → RFC 5424 message, and its framing on the wire:
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID id="…" topic="…" key="…"] MSG
//
// PRI = facility × 8 + severity, from the config or the event's `syslog-facility`, `syslog-severity`
// headers (a name or a number; anything else falls back to the config's); APP-NAME likewise from
// `syslog-app-name`. TIMESTAMP is the time the event was received, in milliseconds, UTC. MSGID is the
// topic when it fits RFC 5424's 32 characters, else `-` (the structured data carries it whole). MSG
// is the payload's bytes as they are, newlines included, with no BOM. Over TCP and TLS each message
// is framed by RFC 6587 octet counting (`LEN SP MESSAGE`): a payload with newlines stays one record.
import type { Envelope } from '../../envelope/envelope';

export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  ntp: 12, security: 13, console: 14, solaris_cron: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export const SEVERITIES: Readonly<Record<string, number>> = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 };

/** Event headers that choose a message's facility, severity and app-name. */
export const SYSLOG_HEADER = { facility: 'syslog-facility', severity: 'syslog-severity', appName: 'syslog-app-name' } as const;

export interface MessageSettings {
  facility: number;
  severity: number;
  appName: string;
  /** '' = the envelope's host. */
  hostname: string;
  sdId: string;
}

/** A name of the table, or a number in its range; undefined for anything else. */
function code(table: Readonly<Record<string, number>>, max: number, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const lower = text.trim().toLowerCase();
  if (Object.hasOwn(table, lower)) return table[lower];
  const number = /^\d{1,2}$/.test(lower) ? Number(lower) : NaN;
  return number <= max ? number : undefined;
}

/** A header field: printable US-ASCII, at most `max` characters, else NILVALUE. */
const field = (text: string | undefined, max: number): string => (text !== undefined && text.length > 0 && text.length <= max && /^[!-~]+$/.test(text) ? text : '-');

/** SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 6.3.3). */
const paramValue = (text: string): string => text.replace(/["\\\]]/g, (c) => `\\${c}`);

/** The message's header and structured data, up to the space before MSG. */
export function messageHead(envelope: Envelope, settings: MessageSettings): string {
  const headers = envelope.headers;
  const facility = code(FACILITIES, 23, headers[SYSLOG_HEADER.facility]) ?? settings.facility;
  const severity = code(SEVERITIES, 7, headers[SYSLOG_HEADER.severity]) ?? settings.severity;
  const appName = field(headers[SYSLOG_HEADER.appName], 48) !== '-' ? headers[SYSLOG_HEADER.appName]! : settings.appName;
  const hostname = field(settings.hostname === '' ? envelope.host : settings.hostname, 255);
  const time = new Date(envelope.ts).toISOString();
  let sd = `[${settings.sdId} id="${envelope.id}" topic="${paramValue(envelope.topic)}"`;
  if (envelope.key !== undefined) sd += ` key="${paramValue(envelope.key)}"`;
  return `<${facility * 8 + severity}>1 ${time} ${hostname} ${appName} - ${field(envelope.topic, 32)} ${sd}] `;
}

/** The whole message as bytes. */
export function message(envelope: Envelope, settings: MessageSettings): Buffer {
  const head = messageHead(envelope, settings);
  const headLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headLength + envelope.data.length);
  out.write(head, 0, 'utf8');
  envelope.data.copy(out, headLength);
  return out;
}

/** RFC 6587 octet counting: `LEN SP MESSAGE`. */
export function octetCounted(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'latin1'), bytes]);
}
