// Whether an instance is well, from its /stats alone, so that every view judges alike: GET /imok,
// the heartbeat, the status page and `sparkngin status`. Well means it takes events (/ready) and
// every sink delivers: a sink that is down or whose delivery failed is a problem even though the
// events wait safely in the spool (the load balancer's /ready stays 200 for that reason; /imok is
// for a person or a monitor who wants to know the whole path works).
import type { DaemonStats } from '../daemon/daemon';

/** What is wrong, one sentence each; empty when the instance is well. */
export function healthProblems(stats: Pick<DaemonStats, 'notReady' | 'sinks'>): string[] {
  const problems = [...stats.notReady];
  for (const sink of stats.sinks) {
    if (sink.state === 'failed') problems.push(`sink ${sink.sink}: delivery failed (${sink.lastError ?? 'no detail'})`);
    else if (!sink.up) problems.push(`sink ${sink.sink}: down (${sink.health.detail ?? sink.lastError ?? 'no detail'})`);
  }
  return problems;
}
