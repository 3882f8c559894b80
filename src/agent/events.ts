// The agent's findings as events: each one raised or cleared is POSTed (NDJSON) to a Sparkngin
// instance (agent.eventsUrl, topic agent.eventsTopic), which stores and delivers it as any event, so
// findings reach Kafka, files or whatever the fleet's events reach. While that instance does not take
// them they wait, at most MAX_WAITING (the oldest dropped first, and counted in a log line): the agent
// must keep watching whatever happens to its reporting path.
import type { Logger } from '../ops/log';
import type { FindingChange } from './fleet';

const MAX_WAITING = 1000;

export class FindingsSender {
  private waiting: object[] = [];
  private sending: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly base: string,
    private readonly topic: string,
    private readonly token: string,
    private readonly logger: Logger,
  ) {}

  send(changes: readonly FindingChange[]): void {
    const at = new Date().toISOString();
    for (const { change, instance, finding } of changes) this.waiting.push({ type: `finding.${change}`, at, instance, finding });
    if (this.waiting.length > MAX_WAITING) {
      const over = this.waiting.length - MAX_WAITING;
      this.waiting.splice(0, over);
      this.dropped += over;
      this.logger.error('agent.findings_dropped', { dropped: over, total: this.dropped });
    }
    void this.flush();
  }

  /** Sends what waits (one request at a time); what is refused waits for the next call. */
  flush(): Promise<void> {
    this.sending = this.sending.then(async () => {
      if (this.waiting.length === 0) return;
      const batch = this.waiting;
      this.waiting = [];
      try {
        const response = await fetch(new URL(`v1/topics/${encodeURIComponent(this.topic)}`, this.base.endsWith('/') ? this.base : `${this.base}/`), {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', ...(this.token !== '' ? { authorization: `Bearer ${this.token}` } : {}) },
          body: `${batch.map((event) => JSON.stringify(event)).join('\n')}\n`,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.status !== 202) throw new Error(`answered ${response.status}`);
      } catch (error) {
        this.waiting = [...batch, ...this.waiting];
        this.logger.warn('agent.findings_unsent', { url: this.base, waiting: this.waiting.length, error });
      }
    });
    return this.sending;
  }
}
