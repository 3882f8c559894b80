// `http.threads`: how many threads serve HTTP on the events port, and each one's share of the
// daemon-wide bounds. With N > 1 the main thread and N - 1 ingest threads each listen on the port
// with SO_REUSEPORT (the kernel spreads new connections over them), so the bounds a single thread
// enforces alone are split: each thread takes floor(total / N) of http.maxConnections (after the
// descriptor limit lowered it) and of http.maxBufferedBytes, so that together they never hold more
// than configured. A client the kernel happens to put on a full thread is refused while another has
// room: the split is the price of bounds that need no lock between threads. http.maxSinkAckRequests
// needs no split: every ack=sink wait happens on the main thread (threads/README.md).
//
// Refused rather than approximated: per-client rate limits (rateLimit.*) with N > 1. A client's
// token bucket would live in every thread, and a client whose connections land on N threads would
// get N times its rate; a shared bucket would put a lock (or a message) on every request.
import type { Config } from '../../config/defaults';

const MAX_THREADS = 64;

export function threadsProblems(config: Config): string[] {
  const { threads } = config.http;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) return [`http.threads: expected an integer from 1 to ${MAX_THREADS}, got ${threads}`];
  if (threads === 1) return [];
  const problems: string[] = [];
  const { rateLimit } = config;
  if (rateLimit.requestsPerSecond > 0 || rateLimit.eventsPerSecond > 0 || rateLimit.bytesPerSecond > 0) {
    problems.push(`http.threads: per-client rate limits (rateLimit.*) cannot be exact across ${threads} threads; set http.threads: 1, or turn the rate limits off`);
  }
  if (process.platform !== 'linux') problems.push(`http.threads: more than 1 needs Linux (SO_REUSEPORT spreading connections over the threads); this is ${process.platform}`);
  if (config.http.maxConnections < threads) problems.push(`http.maxConnections: expected at least http.threads (${threads}): each thread takes its share`);
  return problems;
}

/** One thread's share of a daemon-wide bound (at least 1). */
function share(total: number, threads: number): number {
  return Math.max(1, Math.floor(total / threads));
}

/** The config each HTTP thread serves with: the same but for its share of the bounds. */
export function threadConfig(config: Config, maxConnections: number): Config {
  const { threads } = config.http;
  return { ...config, http: { ...config.http, maxConnections: share(maxConnections, threads), maxBufferedBytes: share(config.http.maxBufferedBytes, threads) } };
}
