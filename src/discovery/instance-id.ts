// The instance id: a UUID made at the first start and kept in `<dataDir>/instance-id`, so that an
// instance is recognisable across restarts, address changes and renames after a name conflict (the
// advertised name may become `Sparkngin on host (2)`; the id stays). It names the data dir, not the
// host: a data dir moved to another machine (a dead host's disk mounted elsewhere) keeps its id.
// The daemon holds the data-dir lock when it reads or makes the file, so no two make it at once.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../spool/durable-file';

export const INSTANCE_ID_FILE = 'instance-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id kept in `dataDir`, made (and written durably) when there is none or it is unreadable. */
export async function loadInstanceId(dataDir: string): Promise<string> {
  const path = join(dataDir, INSTANCE_ID_FILE);
  const kept = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  if (UUID.test(kept)) return kept;
  const made = randomUUID();
  await writeFileDurably(path, `${made}\n`);
  return made;
}
