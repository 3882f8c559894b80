// The file sink's settings (`sinks.file`, or any instance of `kind: file`): the embedded default
// destination, on unless `enabled: false`.
import { isAbsolute, resolve } from 'node:path';
import { type CommonSinkConfig, commonDefaults, DEFAULT_RETRY, MiB, type SinkKind } from '../kind';

export interface FileSinkConfig extends CommonSinkConfig {
  /** Output directory; relative paths are under dataDir. One `<topic>.ndjson` per topic (escaped or hashed when the name would clash or be too long). */
  dir: string;
  /** Rotate a topic's file when it grows past this size. */
  rotateBytes: number;
  /** Rotated files kept per topic (older ones are deleted). */
  keepFiles: number;
  /** Most topic files held open at once; the least recently written is closed to open another. */
  maxOpenFiles: number;
}

export const fileKind: SinkKind<FileSinkConfig> = {
  kind: 'file',
  defaults: () => ({
    ...commonDefaults('file', true, { maxRecords: 10_000, maxBytes: 4 * MiB, lingerMs: 0 }, DEFAULT_RETRY),
    dir: 'out',
    rotateBytes: 64 * MiB,
    keepFiles: 10,
    maxOpenFiles: 256,
  }),
  sizeKeys: ['rotateBytes'],
  check(config, complain) {
    if (config.maxOpenFiles < 1) complain('maxOpenFiles', `expected at least 1, got ${config.maxOpenFiles}`);
  },
  resolve(config, dataDir) {
    if (!isAbsolute(config.dir)) config.dir = resolve(dataDir, config.dir);
  },
  async create(name, config, logger) {
    const { FileSink } = await import('./sink');
    return new FileSink(config, logger, name);
  },
};
