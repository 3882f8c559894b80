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

/**
 * What `promise` resolves to, or undefined if it rejects, or if `ms` pass or `signal` aborts first;
 * its timer and listener are gone either way (a long wait made of many of these leaks nothing).
 */
export function settleWithin<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), Math.max(0, ms));
    const onAbort = () => done(undefined);
    function done(value: T | undefined) {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(done, () => done(undefined));
  });
}
