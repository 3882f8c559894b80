// Ganglia's wire format (gmond 3.1 and later, lib/gm_protocol.x), the two messages a metric source
// sends to a gmond's udp_recv_channel, each one UDP datagram of XDR (xdr.ts):
//
//   metadata (id 128, gmetadata_full)         value (id 133, gmetric_string)
//   uint   id = 128                           uint   id = 133
//   string host      ┐ metric id              string host      ┐ metric id, as in the metadata
//   string name      │                        string name      │
//   bool   spoof     ┘                        bool   spoof     ┘
//   string type   (double, uint32, string…)   string fmt  = "%s"
//   string name   (again)                     string value (the number as text)
//   string units
//   uint   slope  (0 zero … 4 unspecified)
//   uint   tmax   (longest gap between values, s)
//   uint   dmax   (gmond forgets the metric after this many silent s; 0 never)
//   uint   count, then count × (string key, string value): GROUP, TITLE, DESC, SPOOF_HOST
//
// gmond keeps a value only for a metric whose metadata it holds, and forgets metadata when it
// restarts: sources re-send the metadata every so often (publisher.ts). Values go as strings, as
// Ganglia's own gmetric does: gmond parses them by the type in the metadata, so one value message
// serves every type.
//
// gmond writes names, units and extra values into its XML as they came, unescaped (3.7.2: a `"` in a
// description breaks the XML every reader of that gmond gets), so every text is made safe here.
//
// The host: gmond names the sender after the datagram's source address, unless `spoof` is set; then
// `host` is "IP:NAME" and the SPOOF_HOST extra element says the same, as `gmetric --spoof` sends.
import { XdrWriter } from './xdr';

export const GMETADATA_FULL = 128;
export const GMETRIC_STRING = 133;

/** gmond's value types (the `type` of the metadata). */
export type GangliaType = 'string' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float' | 'double';

/** How a metric moves, which gmetad turns into the RRD data source type (positive: COUNTER). */
export const SLOPES = { zero: 0, positive: 1, negative: 2, both: 3, unspecified: 4 } as const;
export type GangliaSlope = keyof typeof SLOPES;

/** gmond's receive buffer (max_udp_msg_len): a longer datagram is cut and dropped as garbage. */
export const MAX_MESSAGE_BYTES = 1472;

export interface GangliaMetric {
  name: string;
  type: GangliaType;
  units: string;
  slope: GangliaSlope;
  /** Longest gap between two values, in seconds. */
  tmax: number;
  /** Seconds without a value after which gmond drops the metric; 0 keeps it. */
  dmax: number;
  group: string;
  /** Short human name (the graph's title in the web front end). */
  title: string;
  /** One sentence: what it measures. */
  desc: string;
}

/** Whose metric it is: gmond takes the sender's address unless `spoof` ("IP:NAME") is given. */
export interface GangliaSource {
  host: string;
  spoof?: string;
}

function metricId(xdr: XdrWriter, source: GangliaSource, name: string): XdrWriter {
  return xdr.string(source.spoof ?? source.host).string(name).bool(source.spoof !== undefined);
}

export function encodeMetadata(source: GangliaSource, metric: GangliaMetric): Buffer {
  const extra: Array<[string, string]> = [
    ['GROUP', metric.group],
    ['TITLE', metric.title],
    ['DESC', metric.desc],
  ];
  if (source.spoof !== undefined) extra.push(['SPOOF_HOST', source.spoof]);
  const xdr = metricId(new XdrWriter().uint(GMETADATA_FULL), source, metric.name)
    .string(metric.type)
    .string(metric.name)
    .string(xmlSafe(metric.units))
    .uint(SLOPES[metric.slope])
    .uint(metric.tmax)
    .uint(metric.dmax)
    .uint(extra.length);
  for (const [key, value] of extra) xdr.string(key).string(xmlSafe(value));
  return checked(xdr.bytes(), metric.name);
}

export function encodeValue(source: GangliaSource, name: string, value: string): Buffer {
  return checked(metricId(new XdrWriter().uint(GMETRIC_STRING), source, name).string('%s').string(value).bytes(), name);
}

/** The text gmond parses for a value: integers as such, other numbers in full precision. */
export function valueText(type: GangliaType, value: number | string): string {
  if (typeof value === 'string') return xmlSafe(value);
  if (!Number.isFinite(value)) return '0';
  return type === 'float' || type === 'double' ? String(value) : String(Math.trunc(value));
}

const UNSAFE: Record<string, string> = { '&': 'and', '<': '(', '>': ')', '"': "'" };

/** `text` without the characters gmond would put raw into an XML attribute. */
export function xmlSafe(text: string): string {
  return text.replace(/[&<>"]/g, (char) => UNSAFE[char]!);
}

function checked(message: Buffer, name: string): Buffer {
  // Ours are well under (names, units and descriptions are ours); a longer one would be a bug.
  if (message.length > MAX_MESSAGE_BYTES) throw new RangeError(`Ganglia message for ${name} is ${message.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
  return message;
}
