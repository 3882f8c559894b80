// Whether an advertised instance answers: GET /health on its URLs, all of an instance's at once, the
// first 200 wins. Advertisements come from anyone on the LAN, so the probing is bounded in every
// direction: a deadline per request, a few URLs per instance, a fixed number of requests in flight
// whatever the number of instances, and only the status is read (the body is thrown away unread).
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
  const jobs = instances.map((instance) => ({ instance, urls: instance.urls.slice(0, MAX_URLS) }));
  // Requests, not instances, are what the limit counts: an instance's URLs are tried together.
  const slots = Math.max(1, Math.floor((options.concurrency ?? 64) / MAX_URLS));
  const results: Array<T & { reachable: boolean }> = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const { instance, urls } = jobs[index]!;
      const reachable = options.signal?.aborted ? false : await anyHealthy(urls, timeoutMs, options.signal);
      results[index] = { ...instance, reachable };
    }
  };
  await Promise.all(Array.from({ length: Math.min(slots, jobs.length) }, worker));
  return results;
}

/** True as soon as one URL answers 200, false when all have failed. */
function anyHealthy(urls: readonly string[], timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (urls.length === 0) return Promise.resolve(false);
  const done = new AbortController();
  const stop = signal ? AbortSignal.any([signal, done.signal]) : done.signal;
  return Promise.any(urls.map((url) => healthy(url, timeoutMs, stop).then((ok) => (ok ? true : Promise.reject(new Error('unhealthy'))))))
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
