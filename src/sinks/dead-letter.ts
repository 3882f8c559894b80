// Records a destination refuses for good (too large, invalid for it) are parked here instead of
// blocking the sink forever: one NDJSON line per record with the reason and the whole envelope, in
// `<dataDir>/dead-letter/<sink>.ndjson`, synced before the cursor moves past the record.
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { envelopeToJson } from '../envelope/codec-json';
import type { Envelope } from '../envelope/envelope';

export class DeadLetterFile {
  readonly path: string;

  constructor(dir: string, sink: string) {
    this.path = join(dir, `${encodeURIComponent(sink)}.ndjson`);
  }

  async park(envelope: Envelope, error: { code?: string; message: string }): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true });
    const line = `{"time":"${new Date().toISOString()}","code":${JSON.stringify(error.code ?? 'UNKNOWN')},"reason":${JSON.stringify(error.message)},"event":${envelopeToJson(envelope)}}\n`;
    const file = await open(this.path, 'a');
    try {
      await file.writeFile(line);
      await file.datasync();
    } finally {
      await file.close();
    }
  }
}
