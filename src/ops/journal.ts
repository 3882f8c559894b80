// Journald-friendly logs. Under systemd the daemon's stderr is a stream into the journal, which
// stamps every line with the time, the unit and the pid itself. So when stderr is the journal
// (log.journald: auto, the default, finds out as sd_journal_stream_fd(3) says: JOURNAL_STREAM holds
// the device and inode of the stream, and they are stderr's), each JSON line:
//   - starts with the syslog priority, `<3>` error, `<4>` warn, `<6>` info, `<7>` debug
//     (sd-daemon(3)): journald takes it off the line and files the line under that PRIORITY, so
//     `journalctl -p warning` and colours work, and the line left is the plain JSON object;
//   - has no `time` field: the journal's own timestamp (`journalctl -o short-iso-precise`, or
//     __REALTIME_TIMESTAMP in `-o json`) is the time, not a second copy of it.
// Anywhere else (a terminal, a file, `docker logs`, launchd's log file) lines keep their `time` and
// have no prefix. `log.journald: on|off` decides by hand.
import { fstatSync } from 'node:fs';
import type { LogLevel } from './log';

/** sd-daemon(3) priorities of our levels. */
export const JOURNAL_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Whether stderr is the stream systemd connected to the journal (JOURNAL_STREAM is `DEV:INODE` of it). */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (stream === undefined || !/^\d+:\d+$/.test(stream)) return false;
  try {
    const { dev, ino } = fstatSync(2, { bigint: true });
    return stream === `${dev}:${ino}`;
  } catch {
    return false;
  }
}

/** log.journald → whether to write journald-style lines. */
export function journalStyle(setting: 'auto' | 'on' | 'off', env: NodeJS.ProcessEnv = process.env): boolean {
  return setting === 'on' || (setting === 'auto' && stderrIsJournal(env));
}
