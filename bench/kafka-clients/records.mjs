// The bake-off's records, the same for every client: ~100-byte JSON values, 50 keys, and the five
// headers the Kafka sink puts on each record (src/sinks/kafka/record.ts), with values of the same
// sizes. Built batch by batch as the sink builds them, never all at once.
export const KEYS = 50;
const VALUE = Buffer.from(JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/some/path?x=1', ua: 'Mozilla/5.0', n: 0 }).padEnd(100, ' '));
export const RECORD_BYTES = VALUE.length;
const VALUE_TEXT = VALUE.toString();

/** Records [start, start + count): { key, value, headers } with string keys and header values. */
export function batch(start, count) {
  const out = new Array(count);
  const ts = String(Date.now());
  for (let i = 0; i < count; i++) {
    const n = start + i;
    out[i] = {
      key: `k${n % KEYS}`,
      value: VALUE,
      headers: {
        'sparkngin-id': `0193a5b2-7c4e-7d3a-9f1b-${n.toString(16).padStart(12, '0')}`,
        'sparkngin-ts': ts,
        'sparkngin-ip': '127.0.0.1',
        'sparkngin-host': '127.0.0.1:45678',
        'sparkngin-type': 'json',
      },
    };
  }
  return out;
}

/** Record n as a line of kcat input (`key\tvalue\n`); kcat adds the headers (bench/lib/kcat.ts). */
export function kcatLine(n) {
  return `k${n % KEYS}\t${VALUE_TEXT}\n`;
}
