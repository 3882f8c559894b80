// What a SIGTERM or SIGINT asks of a running daemon: the first one a graceful stop, a later one an
// exit at once (what was acknowledged is on disk either way).
//
// "Later" means a second request, not a second delivery of the first: a terminal's Ctrl-C reaches
// every process of the foreground group, so under `npm start` (or any runner that forwards signals
// to its child) the daemon can get the same SIGINT twice within milliseconds, from the terminal and
// from npm. A repeat of the first signal within `repeatMs` is that same request; a person pressing
// Ctrl-C again to force the exit does so later than that.
export type StopAction = 'stop' | 'repeat' | 'force';

/** A repeat of the stopping signal sooner than this is the same request delivered twice. */
export const REPEAT_MS = 1000;

export class StopSignals {
  private first: { signal: NodeJS.Signals; at: number } | undefined;

  constructor(private readonly repeatMs = REPEAT_MS) {}

  receive(signal: NodeJS.Signals, now: number): StopAction {
    if (this.first === undefined) {
      this.first = { signal, at: now };
      return 'stop';
    }
    return signal === this.first.signal && now - this.first.at < this.repeatMs ? 'repeat' : 'force';
  }
}
