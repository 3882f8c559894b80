// The Flume sink: batches of events to an Apache Flume agent, through its HTTP source (http.ts) or
// its Avro source (avro.ts), as `protocol` says. Either way a batch is delivered once the agent
// answered that its channel committed it; this class keeps the sink's health and leaves what an
// error means to classify.ts.
import type { Envelope } from '../../envelope/envelope';
import { SinkError } from '../../errors';
import type { Logger } from '../../ops/log';
import type { FailureClass, Sink, SinkHealth } from '../sink';
import { classifyFlumeError } from './classify';
import type { FlumeSinkConfig } from './config';
import type { FlumeTransport } from './transport';

export class FlumeSink implements Sink {
  private healthState: SinkHealth = { state: 'starting' };

  constructor(
    readonly name: string,
    private readonly config: FlumeSinkConfig,
    private readonly logger: Logger,
    private readonly transport: FlumeTransport,
  ) {}

  async start(): Promise<void> {}

  async send(batch: Envelope[]): Promise<void> {
    try {
      await this.transport.send(batch);
      this.healthState = { state: 'up' };
    } catch (error) {
      const refused = classifyFlumeError(error) === 'permanent';
      this.healthState = refused ? { state: 'up' } : { state: 'down', detail: (error as Error).message };
      if (!refused) this.logger.debug('flume.send_failed', { sink: this.name, error });
      throw new SinkError(this.name, `${this.config.endpoint}: ${(error as Error).message}`, { cause: error });
    }
  }

  classify(error: unknown): FailureClass {
    return classifyFlumeError(error);
  }

  probe(): Promise<void> {
    return this.transport.probe();
  }

  stop(): Promise<void> {
    return this.transport.stop();
  }

  health(): SinkHealth {
    return this.healthState;
  }
}
