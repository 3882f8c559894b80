// One packaging step: one job, one output. The build is the ordered list in steps/index.ts; a step
// reads what earlier steps wrote (by the file names in context.ts) and nothing else.
import type { Context } from '../context';

export interface Step {
  /** Name used by `npm run dist -- --only NAME`. */
  name: string;
  /** What it writes, in a few words, for the log and `--list`. */
  produces: string;
  run(ctx: Context): Promise<void> | void;
}

export class UnknownStepError extends Error {
  constructor(
    readonly step: string,
    known: readonly string[],
  ) {
    super(`unknown step '${step}' (steps, in order: ${known.join(', ')})`);
  }
}
