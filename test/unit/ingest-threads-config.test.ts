// http.threads at config check (src/ingest/threads/config.ts): its range, the settings it cannot be
// combined with, and each thread's share of the daemon-wide bounds.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { threadConfig } from '../../src/ingest/threads/config';
import { problemsOf } from './config-helpers';

const load = (settings: Record<string, string>) => loadConfig({ overrides: new Map(Object.entries(settings)) });

describe('http.threads', () => {
  it('takes 1 to 64, and 1 (the main thread alone) by default', () => {
    expect(loadConfig().http.threads).toBe(1);
    expect(load({ 'http.threads': '2' }).http.threads).toBe(2);
    expect(load({ 'http.threads': '64' }).http.threads).toBe(64);
    for (const bad of ['0', '65']) expect(problemsOf(() => load({ 'http.threads': bad })), bad).toEqual([`http.threads: expected an integer from 1 to 64, got ${bad}`]);
    for (const bad of ['1.5', '-2', 'many']) expect(problemsOf(() => load({ 'http.threads': bad }))[0], bad).toMatch(/^http\.threads: expected a (whole|non-negative) number/);
  });

  it('refuses per-client rate limits with more than one thread: they could not be exact', () => {
    for (const key of ['rateLimit.requestsPerSecond', 'rateLimit.eventsPerSecond', 'rateLimit.bytesPerSecond']) {
      expect(problemsOf(() => load({ 'http.threads': '2', [key]: '100' })), key).toEqual([
        'http.threads: per-client rate limits (rateLimit.*) cannot be exact across 2 threads; set http.threads: 1, or turn the rate limits off',
      ]);
      expect(load({ 'http.threads': '1', [key]: '100' }).http.threads).toBe(1);
    }
  });

  it('needs a connection for each thread at least', () => {
    expect(problemsOf(() => load({ 'http.threads': '4', 'http.maxConnections': '3' }))).toEqual(['http.maxConnections: expected at least http.threads (4): each thread takes its share']);
  });

  it('gives each thread floor(total / N) of the connections and the memory budget: together never more than configured', () => {
    const config = load({ 'http.threads': '3', 'http.maxConnections': '100', 'http.maxBufferedBytes': '1000' });
    const served = threadConfig(config, 100);
    expect([served.http.maxConnections, served.http.maxBufferedBytes]).toEqual([33, 333]);
    expect(served.http.maxSinkAckRequests).toBe(config.http.maxSinkAckRequests);
    expect(threadConfig(config, 50).http.maxConnections).toBe(16);
  });
});
