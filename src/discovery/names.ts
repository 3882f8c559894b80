// Service instance names and their conflicts, as DNS-SD and mDNS say (RFC 6763 §4.1, RFC 6762 §8-9):
// an instance is named for people (`Sparkngin on ingest-01`), and before using a name it probes the
// link (three queries 250 ms apart); if anyone answers for that name, it takes the next one
// (`Sparkngin on ingest-01 (2)`, `(3)`, …) and probes again. After announcing, a response from
// another host with other data for our name is a conflict too (two instances that probed at the same
// moment): of the two, the one whose SRV data compares lower renames (§8.2's tie-break, on the data
// that differs between two instances: port and target), so exactly one of them does.
// bonjour-service probes only to give up (it logs and unpublishes); this module does the renaming.
import type { Answer, RecordType } from 'dns-packet';
import type { MulticastDNS, ResponsePacket } from 'multicast-dns';

/** Most UTF-8 bytes in one DNS label. */
const MAX_LABEL_BYTES = 63;
const PROBES = 3;
const PROBE_INTERVAL_MS = 250;
/** QTYPE 255, which dns-packet encodes but its types leave out. */
const ANY = 'ANY' as RecordType;

/** The instance name `Sparkngin on HOST` (the host's first label), or `configured` when set. Dots become dashes, as bonjour-service does. */
export function baseName(configured: string, host: string): string {
  const name = configured !== '' ? configured : `Sparkngin on ${host.split('.')[0]}`;
  return fitLabel(name.replaceAll('.', '-'), '');
}

/** The name after `name` when it conflicts: `X` → `X (2)`, `X (2)` → `X (3)`. */
export function nextName(name: string): string {
  const numbered = /^(.*) \((\d+)\)$/.exec(name);
  const [stem, number] = numbered ? [numbered[1]!, Number(numbered[2]) + 1] : [name, 2];
  return fitLabel(stem, ` (${number})`);
}

/** `stem + suffix`, the stem cut (on a character boundary) so that the whole fits one DNS label. */
function fitLabel(stem: string, suffix: string): string {
  let cut = stem;
  while (Buffer.byteLength(cut + suffix) > MAX_LABEL_BYTES) cut = Array.from(cut).slice(0, -1).join('');
  return cut + suffix;
}

/** Whether a DNS name equals another (case-insensitive in ASCII, RFC 4343). */
export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** Whether anyone on the links answers for one of `fqdns`: three probes 250 ms apart (§8.1). */
export function nameTaken(links: readonly MulticastDNS[], fqdns: readonly string[], signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (taken: boolean) => {
      clearTimeout(timer);
      for (const mdns of links) mdns.off('response', onResponse);
      signal?.removeEventListener('abort', onAbort);
      resolve(taken);
    };
    const onAbort = () => finish(false);
    const onResponse = (packet: ResponsePacket) => {
      const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
      if (records.some((record) => fqdns.some((fqdn) => sameName(record.name, fqdn)) && ttlOf(record) > 0)) finish(true);
    };
    const probe = () => {
      if (sent === PROBES) return finish(false);
      sent++;
      for (const mdns of links) mdns.query({ questions: fqdns.map((name) => ({ name, type: ANY })) });
      timer = setTimeout(probe, PROBE_INTERVAL_MS);
    };
    for (const mdns of links) mdns.on('response', onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
    // §8.1: a random delay of up to 250 ms first, so that hosts powered on together do not probe in step.
    timer = setTimeout(probe, Math.random() * PROBE_INTERVAL_MS);
  });
}

/** A record's TTL (an OPT pseudo-record has none). */
export function ttlOf(record: Answer): number {
  return 'ttl' in record && typeof record.ttl === 'number' ? record.ttl : 0;
}

/** The SRV data of an instance, in the order the tie-break compares: port, then target. */
export interface SrvData {
  port: number;
  target: string;
}

/**
 * Whether a response from elsewhere that carries `theirs` for our name means we must rename: when
 * the data differs (the same data is our own answer, or an identical twin) and ours compares lower.
 */
export function losesConflict(ours: SrvData, theirs: SrvData): boolean {
  const key = (srv: SrvData) => `${String(srv.port).padStart(5, '0')} ${srv.target.toLowerCase()}`;
  return key(ours) !== key(theirs) && key(ours) < key(theirs);
}
