// The HTTP fuzz suite's harness: sends a FuzzRequest exactly as built (Node's HTTP client, headers as
// a raw list, so names like `__proto__`, repeats and thousands of fields go out as they are), checks
// that the answer is well formed and right per the oracle (./http-model.ts), checks that the daemon
// is still alive, and checks that what it acknowledged reached the file sink byte for byte. When a
// run fails, the daemon is replaced by a fresh one (new data dir), so that fast-check's shrinking
// runs against a clean daemon rather than one a previous input crashed or stalled.
import { Agent, request as httpRequest } from 'node:http';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DaemonOptions, type DaemonProcess, startDaemon } from '../integration/daemon-process';
import { type ExpectedEvent, type Expectation, expectationOf, type FuzzRequest, statusAllowed } from './http-model';
import type { ReliabilityRow } from './reliability';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The event header every fuzz request carries, naming it, so its events can be found in the output. */
export const TAG_HEADER = 'X-Sparkngin-Header-Fuzz-Tag';
const TAG = 'fuzz-tag';

export function send(port: number, fuzz: FuzzRequest, agent: Agent | false, timeoutMs = 15_000): Promise<Answer> {
  // Framing first: a field past a server's header limit must not take the body's length with it.
  const headers: string[] = ['Host', `127.0.0.1:${port}`];
  if (fuzz.body.length > 0 || fuzz.method === 'POST' || fuzz.method === 'PUT' || fuzz.method === 'PATCH') headers.push('Content-Length', String(fuzz.body.length));
  for (const [name, value] of fuzz.headers) headers.push(name, value);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: fuzz.method, path: fuzz.target, headers, agent, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms (a hang)`)));
    req.on('error', reject);
    req.end(fuzz.body);
  });
}

/**
 * The request as `send` puts it on the wire, for the oracle. Node's client writes a request head as
 * Latin-1 (one byte per character, what the fuzz values mean), except when the head carries an
 * `Expect` field: then it sends the head alone at once through `_send('')`, with no encoding named,
 * so as UTF-8, and a value's characters 0x80–0xFF arrive as two bytes each. The daemon reads the
 * bytes it gets, so the oracle must start from those bytes too.
 */
export function asSent(fuzz: FuzzRequest): FuzzRequest {
  if (!fuzz.headers.some(([name]) => name.toLowerCase() === 'expect')) return fuzz;
  return { ...fuzz, headers: fuzz.headers.map(([name, value]) => [name, Buffer.from(value, 'utf8').toString('latin1')]) };
}

/** What is wrong with an answer, per the oracle and the always-rules (JSON errors, Allow, Retry-After). */
export function answerProblems(fuzz: FuzzRequest, expectation: Expectation, answer: Answer): string[] {
  const problems: string[] = [];
  const { status } = answer;
  if (!statusAllowed(expectation, status)) problems.push(`status ${status}, expected ${expectation.statuses.join(' or ')} (${expectation.why}): ${answer.body.toString('latin1').slice(0, 200)}`);
  if (status >= 500 && status !== 503 && status !== 504) problems.push(`server error ${status}`);
  if (fuzz.method === 'HEAD' || status === 204 || status === 304) return problems;
  const type = String(answer.headers['content-type'] ?? '');
  // The views that are not JSON: Prometheus text, the status page's HTML, /imok's plain text.
  const notJson = (status === 200 && /^\/(metrics|status)?(\?|$)/.test(fuzz.target)) || /^\/imok(\?|$)/.test(fuzz.target);
  if (notJson) return problems;
  if (!type.startsWith('application/json')) {
    problems.push(`status ${status} answered with content-type '${type}', not JSON: ${answer.body.toString('latin1').slice(0, 120)}`);
    return problems;
  }
  let body: any;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    problems.push(`status ${status} body is not JSON: ${answer.body.toString('latin1').slice(0, 120)}`);
    return problems;
  }
  if (status >= 400) {
    if (expectation.legacy) {
      if (body?.status !== 'ERROR' || typeof body?.message !== 'string') problems.push(`legacy error not an Ack: ${JSON.stringify(body).slice(0, 120)}`);
    } else if (typeof body?.error?.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(body.error.code) || typeof body?.error?.message !== 'string') {
      problems.push(`error body not {error:{code,message}}: ${JSON.stringify(body).slice(0, 120)}`);
    }
    if (status === 405 && !answer.headers.allow) problems.push('405 without Allow');
    if ((status === 503 || status === 429) && !answer.headers['retry-after']) problems.push(`${status} without Retry-After`);
  }
  if (status === 202) {
    if (!Array.isArray(body?.ids) || body.accepted !== body.ids.length) problems.push(`202 body not {accepted, ids}: ${JSON.stringify(body).slice(0, 120)}`);
    else if (expectation.events && body.accepted !== expectation.events.length) problems.push(`202 accepted ${body.accepted} events, expected ${expectation.events.length}`);
  }
  if (status === 200 && expectation.legacy && body?.status !== 'OK') problems.push(`legacy 200 not an OK Ack: ${JSON.stringify(body).slice(0, 120)}`);
  return problems;
}

/** Reads what the file sink appends, incrementally (per file, from where the last read stopped). */
class OutputReader {
  private readonly offsets = new Map<string, number>();
  private partial = new Map<string, string>();
  /** Every line read so far, by fuzz tag; lines without a tag under ''. */
  readonly byTag = new Map<string, Array<{ raw: string; line: any }>>();
  unparsable = 0;

  constructor(private readonly dir: string) {}

  async poll(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(this.dir, name);
      const size = (await stat(path)).size;
      const from = this.offsets.get(name) ?? 0;
      if (size <= from) continue;
      const handle = await open(path, 'r');
      const bytes = Buffer.alloc(size - from);
      try {
        await handle.read(bytes, 0, bytes.length, from);
      } finally {
        await handle.close();
      }
      this.offsets.set(name, size);
      const text = (this.partial.get(name) ?? '') + bytes.toString('utf8');
      const parts = text.split('\n');
      this.partial.set(name, parts.pop()!);
      for (const raw of parts) {
        let line: any;
        try {
          line = JSON.parse(raw);
        } catch {
          this.unparsable++;
          continue;
        }
        const tag = typeof line?.headers?.[TAG] === 'string' ? line.headers[TAG] : '';
        const list = this.byTag.get(tag) ?? [];
        list.push({ raw, line });
        this.byTag.set(tag, list);
      }
    }
  }
}

/** Differences between an expected event and a line of the file sink. */
export function eventProblems(expected: ExpectedEvent, raw: string, line: any): string[] {
  const problems: string[] = [];
  if (line.topic !== expected.topic) problems.push(`topic ${JSON.stringify(line.topic)} ≠ ${JSON.stringify(expected.topic)}`);
  if (line.key !== expected.key) problems.push(`key ${JSON.stringify(line.key)} ≠ ${JSON.stringify(expected.key)}`);
  if (line.sts !== expected.sts) problems.push(`sts ${line.sts} ≠ ${expected.sts}`);
  if (line.type !== expected.type) problems.push(`type ${line.type} ≠ ${expected.type}`);
  const got = Object.entries(line.headers ?? {}).map(([name, value]) => `${name}=${String(value)}`).sort();
  const want = expected.headers.map(([name, value]) => `${name}=${value}`).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`headers ${JSON.stringify(got).slice(0, 200)} ≠ ${JSON.stringify(want).slice(0, 200)}`);
  if (expected.type === 'json') {
    if (!raw.endsWith(`"data":${expected.data as string}}`)) problems.push(`json data not byte-exact: stored …${raw.slice(-80)} expected …${String(expected.data).slice(-60)}`);
  } else if (expected.type === 'text') {
    if (line.data !== expected.data) problems.push(`text data ${JSON.stringify(line.data).slice(0, 80)} ≠ ${JSON.stringify(expected.data).slice(0, 80)}`);
  } else if (typeof line.data !== 'string' || !Buffer.from(line.data, 'base64').equals(expected.data as Buffer)) {
    problems.push(`binary data differs (${String(line.data).slice(0, 40)})`);
  }
  return problems;
}

export interface FuzzTally {
  requests: number;
  acknowledged: number;
  delivered: number;
  duplicated: number;
  lost: number;
  altered: number;
  daemonsReplaced: number;
  statuses: Map<number, number>;
  problems: string[];
}

/**
 * One daemon under fuzz: `check(request)` sends it, checks answer, liveness and delivery, and throws
 * on the first problem (replacing the daemon first). Counts go to `tally`.
 */
export class FuzzTarget {
  daemon!: DaemonProcess;
  private output!: OutputReader;
  private agent!: Agent;
  private nextTag = 1;
  readonly tally: FuzzTally = { requests: 0, acknowledged: 0, delivered: 0, duplicated: 0, lost: 0, altered: 0, daemonsReplaced: 0, statuses: new Map(), problems: [] };

  constructor(private readonly options: DaemonOptions) {}

  async start(): Promise<void> {
    this.daemon = await startDaemon(this.options);
    this.output = new OutputReader(join(this.daemon.dataDir, 'out'));
    this.agent = new Agent({ keepAlive: true, maxSockets: 2 });
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    await this.daemon?.close();
  }

  private async replace(): Promise<void> {
    this.tally.daemonsReplaced++;
    await this.daemon.kill().catch(() => undefined);
    await this.close();
    await this.start();
  }

  /** The request with its tag header first (so that it survives any header limit). */
  tagged(fuzz: FuzzRequest): { fuzz: FuzzRequest; tag: string } {
    const tag = String(this.nextTag++);
    return { fuzz: { ...fuzz, headers: [[TAG_HEADER, tag], ...fuzz.headers] }, tag };
  }

  async check(request: FuzzRequest): Promise<void> {
    const { fuzz, tag } = this.tagged(request);
    const expectation = expectationOf(asSent(fuzz));
    this.tally.requests++;
    let problems: string[] = [];
    let answer: Answer | undefined;
    try {
      answer = await send(this.daemon.port, fuzz, this.agent);
      this.tally.statuses.set(answer.status, (this.tally.statuses.get(answer.status) ?? 0) + 1);
      problems = answerProblems(fuzz, expectation, answer);
    } catch (error) {
      problems.push(`no well-formed answer: ${(error as Error).message}`);
    }
    const alive = await send(this.daemon.port, { method: 'GET', target: '/health', headers: [], body: Buffer.alloc(0) }, false, 5_000).then(
      (health) => health.status === 200,
      () => false,
    );
    if (!alive) problems.push(`the daemon no longer answers /health (${/"level":"(fatal|error)"[^\n]*/.exec(this.daemon.logs())?.[0]?.slice(0, 200) ?? 'crashed or hung'})`);
    if (alive && answer) problems.push(...(await this.delivery(tag, answer, expectation)));
    if (problems.length > 0) {
      const message = `${problems.join('; ')}\n  request: ${describe(fuzz)}`;
      this.tally.problems.push(message);
      await this.replace();
      throw new Error(message);
    }
  }

  /** Waits for the file sink to catch up, then compares what it wrote under this tag with the oracle. */
  private async delivery(tag: string, answer: Answer, expectation: Expectation): Promise<string[]> {
    const accepted = answer.status === 202 || (answer.status === 200 && expectation.legacy);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const stats = (await (await fetch(`${this.daemon.url}/stats`)).json()) as { sinks: Array<{ lagRecords: number }> };
      if (stats.sinks.every((sink) => sink.lagRecords === 0)) break;
      if (Date.now() > deadline) return [`the file sink did not catch up within 5 s (stalled: ${JSON.stringify(stats.sinks).slice(0, 200)})`];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.output.poll();
    if (this.output.unparsable > 0) return [`${this.output.unparsable} lines of the file sink's output are not JSON`];
    const lines = this.output.byTag.get(tag) ?? [];
    const untagged = this.output.byTag.get('')?.length ?? 0;
    if (untagged > 0) return [`${untagged} event(s) reached the file sink without their ${TAG} header (headers dropped)`];
    if (!accepted) {
      // 504 (ack=sink timed out) leaves the events spooled, to be delivered: nothing to hold it to.
      if (lines.length > 0 && answer.status !== 504) return [`refused with ${answer.status} but ${lines.length} event(s) were stored`];
      return [];
    }
    const count = expectation.events?.length ?? lines.length;
    this.tally.acknowledged += count;
    if (lines.length < count) {
      this.tally.lost += count - lines.length;
      this.tally.delivered += lines.length;
      return [`acknowledged ${count} events, ${lines.length} reached the file sink`];
    }
    this.tally.duplicated += lines.length - count;
    if (expectation.events === undefined) {
      this.tally.delivered += count;
      return [];
    }
    const problems: string[] = [];
    expectation.events.forEach((expected, index) => {
      const { raw, line } = lines[index]!;
      const differences = eventProblems(expected, raw, line);
      if (differences.length > 0) {
        this.tally.altered++;
        this.tally.lost++;
        problems.push(`event ${index} stored altered: ${differences.join(', ')}`);
      } else this.tally.delivered++;
    });
    return problems;
  }

  /** A normal request, answered 202 with ack=sink and in the file sink: the daemon is still fine. */
  async normalRequestWorks(): Promise<void> {
    await this.check({ method: 'POST', target: '/v1/topics/normal?ack=sink', headers: [['Content-Type', 'application/json']], body: Buffer.from('{"normal":true}') });
  }

  /** Fills a reliability row from the tally. */
  fill(row: ReliabilityRow): void {
    Object.assign(row, { unit: 'requests', destination: 'file', sent: this.tally.requests, acknowledged: this.tally.acknowledged, delivered: this.tally.delivered, duplicated: this.tally.duplicated, lost: this.tally.lost });
    const statuses = [...this.tally.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ');
    row.notes = `answers ${statuses}${this.tally.altered ? `; ${this.tally.altered} stored altered` : ''}${this.tally.daemonsReplaced ? `; daemon replaced after each failure (${this.tally.daemonsReplaced})` : ''}`;
  }
}

/** DEL and C1 controls, which JSON.stringify leaves raw and a terminal shows as nothing. */
const visible = (text: string) => text.replace(/[\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);

/** A request, short enough for a failure message. */
export function describe(fuzz: FuzzRequest): string {
  const headers: Array<[string, string]> = fuzz.headers.length > 12 ? [...fuzz.headers.slice(0, 10), ['…', `${fuzz.headers.length - 10} more`]] : fuzz.headers;
  const body = fuzz.body.length > 200 ? `${JSON.stringify(fuzz.body.subarray(0, 200).toString('latin1'))}… (${fuzz.body.length} bytes)` : JSON.stringify(fuzz.body.toString('latin1'));
  return visible(`${fuzz.method} ${fuzz.target.length > 300 ? `${fuzz.target.slice(0, 300)}… (${fuzz.target.length} chars)` : fuzz.target} ${JSON.stringify(headers.map(([n, v]) => `${n}: ${v.length > 100 ? `${v.slice(0, 100)}… (${v.length})` : v}`))} body ${body}`);
}
