// File names derived from topics. A topic (1 to 249 of [a-zA-Z0-9._-]) is written to
// `<stem>.ndjson`, rotated to `<stem>.ndjson.1`, `.2`, … where the stem is:
//
//   - the topic itself when it has no upper-case letter, does not start with `.` and is at most
//     MAX_STEM bytes long: `clicks` → `clicks.ndjson`, as before this scheme (nothing to migrate);
//   - otherwise the topic with every upper-case letter and a leading `.` percent-encoded (RFC 3986,
//     upper-case hex): `Clicks` → `%43licks`, `.hidden` → `%2Ehidden`. `decodeURIComponent` gives
//     the topic back. No two topics get names equal when case is ignored (macOS, Windows shares):
//     a stem holds no upper-case letter outside an escape, and `%` is not a topic character;
//   - when that is longer than MAX_STEM: its first bytes (never half an escape), `~`, and 16 hex
//     digits of the SHA-256 of the topic: `<prefix>~0123456789abcdef`. Not reversible from the
//     name; every line in the file records its `topic`. `~` is in no other stem.
//
// MAX_STEM keeps the longest name (`<stem>.ndjson.<generation>`) within the 143 bytes of the most
// restrictive common Linux file system (eCryptfs, Ubuntu's encrypted home directories), well within
// the usual 255.
//
// Alternatives that lose: an index file mapping topics to names must be written and synced before
// the first line and survive crashes mid-update, and cannot be read without our code; lower-casing
// (`Clicks` and `clicks` share a file) loses which topic a file holds; escaping `_` as well (a
// common escape character) would rename most existing files on upgrade.
import { createHash } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../ops/log';

export const MAX_STEM = 120;
const HASH_DIGITS = 16;
const EXTENSION = '.ndjson';

/** The topic's file name stem (see the top of this file). */
export function topicStem(topic: string): string {
  if (topic.length <= MAX_STEM && !/[A-Z]/.test(topic) && !topic.startsWith('.')) return topic;
  const escaped = topic.replace(/^\.|[A-Z]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  if (escaped.length <= MAX_STEM) return escaped;
  let prefix = escaped.slice(0, MAX_STEM - HASH_DIGITS - 1);
  const cut = prefix.lastIndexOf('%');
  if (cut >= prefix.length - 2) prefix = prefix.slice(0, cut); // never keep half an escape
  return `${prefix}~${createHash('sha256').update(topic).digest('hex').slice(0, HASH_DIGITS)}`;
}

/** The topic a stem names, or undefined when the stem is hashed (read a line's `topic` instead). */
export function stemTopic(stem: string): string | undefined {
  return stem.includes('~') ? undefined : decodeURIComponent(stem);
}

/** `<dir>/<stem>.ndjson`, or its rotated generation `<dir>/<stem>.ndjson.<n>`. */
export function topicFilePath(dir: string, stem: string, generation = 0): string {
  return join(dir, `${stem}${EXTENSION}${generation === 0 ? '' : `.${generation}`}`);
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Renames the files that versions before this scheme wrote under the raw topic (`Clicks.ndjson`,
 * `.hidden.ndjson.3`, long names) to their names now, so that output continues where it was after
 * an upgrade. Run once at start, before any write. A file whose new name is taken is left as it is
 * (logged). On a case-insensitive file system such an old file may already hold the events of
 * topics differing only by case: that mix is kept, under the first of them.
 */
export async function migrateLegacyNames(dir: string, names: string[], logger: Logger): Promise<void> {
  const present = new Set(names);
  for (const name of names) {
    const match = /^(.+)\.ndjson(?:\.(\d+))?$/.exec(name);
    if (!match) continue;
    const [, topic, generation] = match as unknown as [string, string, string | undefined];
    if (!LEGAL_TOPIC.test(topic) || topic === '.' || topic === '..') continue;
    const stem = topicStem(topic);
    if (stem === topic) continue;
    const target = topicFilePath(dir, stem, generation === undefined ? 0 : Number(generation));
    const targetName = target.slice(dir.length + 1);
    if (present.has(targetName)) {
      logger.warn('file_sink.legacy_name_kept', { file: join(dir, name), reason: `${targetName} exists` });
      continue;
    }
    try {
      await rename(join(dir, name), target);
      present.add(targetName);
      logger.info('file_sink.legacy_name_migrated', { from: name, to: targetName });
    } catch (error) {
      // Not a reason to stop delivering: new lines go to the new name, the old file stays for the operator.
      logger.error('file_sink.legacy_name_kept', { file: join(dir, name), reason: `cannot rename to ${targetName}`, error });
    }
  }
}
