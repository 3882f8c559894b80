// The embedded default sink: one NDJSON file per topic (`<dir>/<topic>.ndjson`), each line the
// event's JSON envelope; rotated to `<topic>.ndjson.1`, `.2`, … past `rotateBytes`, keeping
// `keepFiles` of them. A batch is accepted once written and fdatasync'd.
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileSinkConfig } from '../../config/defaults';
import { envelopeToJson } from '../../envelope/codec-json';
import type { Envelope } from '../../envelope/envelope';
import { SinkError } from '../../errors';
import type { Sink, SinkHealth } from '../sink';

interface TopicFile {
  handle: FileHandle;
  size: number;
}

export class FileSink implements Sink {
  readonly name = 'file';
  private readonly files = new Map<string, TopicFile>();
  private lastError: string | undefined;

  constructor(private readonly config: FileSinkConfig) {}

  async start(): Promise<void> {
    await mkdir(this.config.dir, { recursive: true });
  }

  async send(batch: Envelope[]): Promise<void> {
    const byTopic = new Map<string, string[]>();
    for (const envelope of batch) {
      let lines = byTopic.get(envelope.topic);
      if (!lines) byTopic.set(envelope.topic, (lines = []));
      lines.push(envelopeToJson(envelope));
    }
    try {
      for (const [topic, lines] of byTopic) await this.write(topic, `${lines.join('\n')}\n`);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = (error as Error).message;
      // A disk problem here is worth retrying (space may come back); nothing is ever refused for good.
      throw new SinkError(this.name, `cannot write: ${(error as Error).message}`, { cause: error, retriable: true });
    }
  }

  private async write(topic: string, text: string): Promise<void> {
    let file = this.files.get(topic) ?? (await this.openTopic(topic));
    if (file.size > 0 && file.size >= this.config.rotateBytes) file = await this.rotate(topic, file);
    const bytes = Buffer.from(text, 'utf8');
    await file.handle.write(bytes, 0, bytes.length, file.size);
    await file.handle.datasync();
    file.size += bytes.length;
  }

  private path(topic: string, generation = 0): string {
    return join(this.config.dir, `${topic}.ndjson${generation === 0 ? '' : `.${generation}`}`);
  }

  private async openTopic(topic: string): Promise<TopicFile> {
    const handle = await open(this.path(topic), 'a');
    const file = { handle, size: (await handle.stat()).size };
    this.files.set(topic, file);
    return file;
  }

  private async rotate(topic: string, file: TopicFile): Promise<TopicFile> {
    await file.handle.close();
    this.files.delete(topic);
    await rm(this.path(topic, this.config.keepFiles), { force: true });
    for (let generation = this.config.keepFiles - 1; generation >= 0; generation--) {
      await rename(this.path(topic, generation), this.path(topic, generation + 1)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    if (this.config.keepFiles === 0) await rm(this.path(topic, 1), { force: true });
    return this.openTopic(topic);
  }

  async stop(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((file) => file.handle.close()));
  }

  health(): SinkHealth {
    return this.lastError === undefined ? { state: 'up' } : { state: 'down', detail: this.lastError };
  }
}
