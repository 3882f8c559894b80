// The embedded default sink: one NDJSON file per topic (`<dir>/<stem>.ndjson`, the stem derived
// from the topic as names.ts describes), each line the event's JSON envelope; rotated to
// `<stem>.ndjson.1`, `.2`, … past `rotateBytes`, keeping `keepFiles` of them. A batch is accepted
// once written and fdatasync'd. At most `maxOpenFiles` files are open at a time (open-files.ts). A
// line a crash cut short at a file's end is cut away when the file is opened (../torn-tail.ts).
import { access, constants, open, readdir, rename, rm, statfs } from 'node:fs/promises';
import type { FileSinkConfig } from './config';
import { envelopeToJson } from '../../envelope/codec-json';
import type { Envelope } from '../../envelope/envelope';
import type { Logger } from '../../ops/log';
import { mkdirDurably, syncDir } from '../../spool/durable-file';
import type { FailureClass, Sink, SinkHealth } from '../sink';
import { cutTornTail } from '../torn-tail';
import { classifyFileError, TopicFileError } from './classify';
import { migrateLegacyNames, topicFilePath, topicStem } from './names';
import { type OpenFile, OpenFiles } from './open-files';

export class FileSink implements Sink {
  private readonly files: OpenFiles;
  private lastError: string | undefined;

  constructor(
    private readonly config: FileSinkConfig,
    private readonly logger: Logger,
    readonly name = 'file',
  ) {
    this.files = new OpenFiles(config.maxOpenFiles);
  }

  async start(): Promise<void> {
    await mkdirDurably(this.config.dir);
    await migrateLegacyNames(this.config.dir, await readdir(this.config.dir), this.logger);
  }

  async send(batch: Envelope[]): Promise<void> {
    const byTopic = new Map<string, string[]>();
    for (const envelope of batch) {
      let lines = byTopic.get(envelope.topic);
      if (!lines) byTopic.set(envelope.topic, (lines = []));
      lines.push(envelopeToJson(envelope));
    }
    try {
      // Every file is opened before any is written: the errors no retry heals come at open, and
      // failing before the first write keeps the batch's other topics from being written again
      // while the dispatcher isolates the refused records.
      for (const topic of byTopic.keys()) await this.onTopicFile(topic, (stem) => this.opened(stem));
      for (const [topic, lines] of byTopic) await this.onTopicFile(topic, (stem) => this.write(stem, `${lines.join('\n')}\n`));
      this.lastError = undefined;
    } catch (error) {
      // A topic refused for good is that topic's problem, not the sink's: it stays up for the others.
      if (classifyFileError(error) !== 'permanent') this.lastError = (error as Error).message;
      throw error;
    }
  }

  classify(error: unknown): FailureClass {
    return classifyFileError(error);
  }

  /** The output directory is writable and its file system has room: worth retrying now. */
  async probe(): Promise<void> {
    await access(this.config.dir, constants.W_OK);
    const { bavail, bsize } = await statfs(this.config.dir);
    if (bavail * bsize < 64 * 1024) throw new Error('no room on the file system');
  }

  /** Runs `action` on the topic's file; a system error comes out as a TopicFileError naming the topic and the file. */
  private async onTopicFile<T>(topic: string, action: (stem: string) => Promise<T>): Promise<T> {
    const stem = topicStem(topic);
    try {
      return await action(stem);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw typeof code === 'string' ? new TopicFileError(topic, topicFilePath(this.config.dir, stem), error as NodeJS.ErrnoException) : error;
    }
  }

  private opened(stem: string): Promise<OpenFile> {
    return this.files.get(stem, () => this.openTopic(stem));
  }

  private async write(stem: string, text: string): Promise<void> {
    let file = await this.opened(stem);
    if (file.size > 0 && file.size >= this.config.rotateBytes) file = await this.rotate(stem);
    const bytes = Buffer.from(text, 'utf8');
    try {
      await file.handle.write(bytes, 0, bytes.length, file.size);
      await file.handle.datasync();
    } catch (error) {
      // Cut what a failed write may have left, so that the retried lines follow whole lines.
      await file.handle.truncate(file.size).catch(() => undefined);
      throw error;
    }
    file.size += bytes.length;
  }

  private async openTopic(stem: string): Promise<OpenFile> {
    const path = topicFilePath(this.config.dir, stem);
    // Read as well as appended to: a line a crash cut short is cut away before anything follows it.
    const handle = await open(path, 'a+').catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      // The output directory was removed under us: make it again rather than fail until a restart.
      await mkdirDurably(this.config.dir);
      return open(path, 'a+');
    });
    try {
      let { size } = await handle.stat();
      const cut = await cutTornTail(handle, size);
      if (cut > 0) {
        this.logger.warn('file_sink.torn_tail_cut', { file: path, bytes: cut });
        size -= cut;
      }
      // A new file (and a rotation's renames before it): the directory synced before its lines are
      // relied on, since a batch written here moves the sink's cursor past its records for good.
      if (size === 0) await syncDir(this.config.dir);
      return { handle, size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private async rotate(stem: string): Promise<OpenFile> {
    const path = (generation: number) => topicFilePath(this.config.dir, stem, generation);
    await this.files.close(stem);
    await rm(path(this.config.keepFiles), { force: true });
    for (let generation = this.config.keepFiles - 1; generation >= 0; generation--) {
      await rename(path(generation), path(generation + 1)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    if (this.config.keepFiles === 0) await rm(path(1), { force: true });
    return this.opened(stem);
  }

  async stop(): Promise<void> {
    await this.files.closeAll();
  }

  health(): SinkHealth {
    return this.lastError === undefined ? { state: 'up' } : { state: 'down', detail: this.lastError };
  }
}
