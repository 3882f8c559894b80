// Whether an advertised instance answers: GET /health on its URLs, all of an instance's at once, the
// first 200 wins. Advertisements come from anyone on the LAN, so the probing is bounded in every
// direction: a deadline per request, a few URLs per instance, a fixed number of requests in flight
// (64) whatever the number of instances, and only the status is read (the body is thrown away unread).
// Certificates are not checked here: a probe sends nothing secret and asks only whether something
// answers there; whether to trust the certificate is the client's decision when it sends events.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';

export interface ProbeOptions {
  /** Deadline of one GET /health, in ms. */
  timeoutMs?: number;
  /** Most requests in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** URLs of one instance probed at most (IPv4 first, as `urls` lists them). */
const MAX_URLS = 4;

/** Each instance with `reachable` set: true when one of its URLs answered GET /health with 200. */
export async function probeReachability<T extends { urls: string[] }>(instances: readonly T[], options: ProbeOptions = {}): Promise<Array<T & { reachable: boolean }>> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const requests = new Limiter(options.concurrency ?? 64);
  return Promise.all(
    instances.map(async (instance) => ({ ...instance, reachable: await anyHealthy(instance.urls.slice(0, MAX_URLS), (url, signal) => requests.run(() => healthy(url, timeoutMs, signal)), options.signal) })),
  );
}

/** At most `limit` tasks running at once; the others wait their turn, in order. */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** True as soon as one URL answers 200, false when all have failed. */
function anyHealthy(urls: readonly string[], check: (url: string, signal: AbortSignal) => Promise<boolean>, signal: AbortSignal | undefined): Promise<boolean> {
  if (urls.length === 0 || signal?.aborted) return Promise.resolve(false);
  const done = new AbortController();
  const stop = signal ? AbortSignal.any([signal, done.signal]) : done.signal;
  // A URL still waiting for its turn when another answered is not requested at all.
  const ask = (url: string) => (stop.aborted ? Promise.resolve(false) : check(url, stop));
  return Promise.any(urls.map((url) => ask(url).then((ok) => (ok ? true : Promise.reject(new Error('unhealthy'))))))
    .then(
      () => true,
      () => false,
    )
    .finally(() => done.abort());
}

function healthy(base: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL('/health', base);
    } catch {
      return resolve(false);
    }
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const options = { agent: false, timeout: timeoutMs, signal, headers: { accept: 'application/json' }, ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}) };
    const deadline = setTimeout(() => request.destroy(new Error('timeout')), timeoutMs);
    const request = get(url, options, (response: IncomingMessage) => {
      clearTimeout(deadline);
      response.resume();
      response.on('error', () => undefined);
      resolve(response.statusCode === 200);
      request.destroy();
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => {
      clearTimeout(deadline);
      resolve(false);
    });
  });
}
