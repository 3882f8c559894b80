import type { RetryConfig } from '../config/defaults';

/** Wait before try number `attempt` (0-based): exponential, capped, with ±jitter spread. */
export function backoffMs(retry: RetryConfig, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(retry.maxMs, retry.initialMs * retry.factor ** attempt);
  const spread = base * retry.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(retry.maxMs, base + spread)));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
