// wrk (Debian's) as the load generator: a scenario's script (bench/wrk/<name>.lua: method, headers,
// body) with bench/wrk/report.lua appended, so each run ends with one JSON line of counts and
// latency percentiles instead of wrk's text.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEnvelope } from '../../src/envelope/codec-binary';
import { newEventId, newHeaders } from '../../src/envelope/envelope';
import { frameEnvelopes, NW1_CONTENT_TYPE } from '../../src/envelope/nw1';
import { benchDir, medians } from './run';

export type WrkScenario = 'single' | 'ndjson100' | 'nw1-100';
/** Events in one request of each scenario. */
export const EVENTS_PER_REQUEST: Record<WrkScenario, number> = { single: 1, ndjson100: 100, 'nw1-100': 100 };

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  non2xx: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Requests answered 2xx per second. */
  okPerSecond: number;
  command: string;
}

const scripts = mkdtempSync(join(tmpdir(), 'sparkngin-wrk-'));
function script(scenario: WrkScenario): string {
  const file = join(scripts, `${scenario}.lua`);
  const request = scenario === 'nw1-100' ? nw1Script() : readFileSync(join(benchDir, 'wrk', `${scenario}.lua`), 'utf8');
  writeFileSync(file, `${request}\n${readFileSync(join(benchDir, 'wrk', 'report.lua'), 'utf8')}`);
  return file;
}

/**
 * `nw1-100`: the NW1 body the client library sends for 100 events of ndjson100's kind (its JSON as
 * JSON.stringify writes it), made by the codec both share: raw HTTP with the client's own protocol,
 * which tells what the protocol costs the daemon apart from what the client costs its process. The
 * bytes go into the script as a Lua string of decimal escapes (a long bracket would turn CR LF into LF).
 */
function nw1Script(): string {
  const envelopes = Array.from({ length: 100 }, (_, user) =>
    encodeEnvelope({ id: newEventId(), topic: 'bench', ts: 0, ip: '', host: '', headers: newHeaders(), type: 'json', data: Buffer.from(JSON.stringify({ user, page: '/home', ref: 'https://example.com/x' })) }),
  );
  const body = [...frameEnvelopes(envelopes)].map((byte) => `\\${byte}`).join('');
  return `wrk.method = "POST"\nwrk.headers["Content-Type"] = "${NW1_CONTENT_TYPE}"\nwrk.body = "${body}"\n`;
}

export const WRK_THREADS = 2;
export const WRK_CONNECTIONS = 64;

/** Runs wrk -t2 -c64 for `seconds` against `url`; `onStart` gets wrk's pid (for load accounting). */
export function wrk(scenario: WrkScenario, url: string, seconds: number, onStart?: (pid: number | undefined) => void): Promise<WrkResult> {
  const args = [`-t${WRK_THREADS}`, `-c${WRK_CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script(scenario), url];
  const command = `wrk ${args.join(' ').replace(scripts, 'bench/wrk')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    onStart?.(child.pid);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited ${code}: ${out.slice(-2000)}`));
      const parsed = JSON.parse(line.slice('WRK_JSON '.length)) as Omit<WrkResult, 'okPerSecond' | 'command'>;
      resolve({ ...parsed, okPerSecond: (parsed.requests - parsed.non2xx) / (parsed.durationUs / 1e6), command });
    });
  });
}

/** Medians per variant of wrk's p50, p90 and p99, in milliseconds. */
export function latencyMedians<R>(all: Array<{ variant: string; result: R }>, pick: (r: R) => WrkResult) {
  return {
    medianP50Ms: medians(all, (r) => pick(r).latencyUs.p50 / 1000),
    medianP90Ms: medians(all, (r) => pick(r).latencyUs.p90 / 1000),
    medianP99Ms: medians(all, (r) => pick(r).latencyUs.p99 / 1000),
  };
}
