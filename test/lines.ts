// Reading a file another process is appending to (the file sink's output, rsyslog's, Flume's): the
// last line may be half written as we read, so only whole lines count.

/** The complete lines of `text` (up to its last newline), without empty ones. */
export function wholeLines(text: string): string[] {
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
}
