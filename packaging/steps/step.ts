// One packaging step: one job, one output. The build is the ordered list in steps/index.ts; a step
// reads what earlier steps wrote (by the file names in context.ts, or those its format's module
// exports) and nothing else.
import type { Context } from '../context';
import type { Os } from '../targets';

export interface Step {
  /** Name used by `npm run dist -- --only NAME`. */
  name: string;
  /** What it writes, in a few words, for the log and `--list`. */
  produces: string;
  /**
   * The operating systems it builds for: its ctx.targets are the build's targets of these OSes
   * only, and it is skipped when there are none. Absent for a step that makes one thing for every
   * target (the bundle, the man page, the checksums).
   */
  os?: readonly Os[];
  run(ctx: Context): Promise<void> | void;
}

/** The context a step runs with: the targets it serves, or undefined when it has none to build. */
export function contextFor(step: Step, ctx: Context): Context | undefined {
  if (!step.os) return ctx;
  const targets = ctx.targets.filter((target) => step.os!.includes(target.os));
  return targets.length === 0 ? undefined : { ...ctx, targets };
}

export class UnknownStepError extends Error {
  constructor(
    readonly step: string,
    known: readonly string[],
  ) {
    super(`unknown step '${step}' (steps, in order: ${known.join(', ')})`);
  }
}
