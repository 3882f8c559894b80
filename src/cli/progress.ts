// A progress line on standard error for long commands (`spool verify`, `send`, `drain`), drawn only
// when standard error is a terminal: logs and pipes get the final summary alone.

export interface Progress {
  /** `done` of `total` (unknown total: counts only), and a note after them. Redrawn at most every 100 ms. */
  update(done: number, total: number | undefined, note?: string): void;
  /** Draws the last state and ends the line. */
  end(): void;
}

const WIDTH = 30;
const REDRAW_MS = 100;

/** A bar labelled `label` whose numbers `format` writes (counts, bytes), or undefined when stderr is no terminal. */
export function progressLine(label: string, format: (n: number) => string = String, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let drawnAt = 0;
  let last: [number, number | undefined, string | undefined] = [0, undefined, undefined];
  const draw = () => {
    const [done, total, note] = last;
    const tail = note === undefined ? '' : `  ${note}`;
    if (total === undefined || total <= 0) {
      stream.write(`\r${label} ${format(done)}${tail}\x1b[K`);
      return;
    }
    const percent = Math.min(100, Math.floor((100 * done) / total));
    const filled = Math.round((WIDTH * percent) / 100);
    stream.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${String(percent).padStart(3)}% ${format(done)} of ${format(total)}${tail}\x1b[K`);
  };
  return {
    update(done, total, note) {
      last = [done, total, note];
      const now = Date.now();
      if (now - drawnAt < REDRAW_MS) return;
      drawnAt = now;
      draw();
    },
    end() {
      draw();
      stream.write('\n');
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
