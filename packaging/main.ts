// `npm run dist`: runs the steps of steps/index.ts in order and records what dist/ was built from.
//   --only a,b      run just these steps (they read the outputs of earlier ones from dist/)
//   --targets x,y   linux-x64,linux-arm64 (default: all)
//   --if-stale      do nothing when dist/ was built from the same inputs (what tests call)
//   --list          print the steps
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createContext } from './context';
import { inputsHash, stampFile } from './inputs';
import { STEPS, stepsNamed } from './steps/index';

export async function main(argv: string[], root: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, targets: { type: 'string' }, 'if-stale': { type: 'boolean' }, list: { type: 'boolean' } },
    strict: true,
  });
  if (values.list) {
    for (const step of STEPS) process.stdout.write(`${step.name.padEnd(10)} ${step.produces}\n`);
    return 0;
  }
  const ctx = createContext({ root, ...(values.targets ? { targets: values.targets.split(',') } : {}) });
  const steps = values.only ? stepsNamed(values.only.split(',')) : STEPS;
  const whole = values.only === undefined && values.targets === undefined;
  const inputs = inputsHash(ctx);
  if (values['if-stale'] && existsSync(stampFile(ctx)) && readFileSync(stampFile(ctx), 'utf8').trim() === inputs) {
    ctx.log('dist/ is up to date');
    return 0;
  }
  rmSync(stampFile(ctx), { force: true });
  for (const step of steps) {
    // A whole build starts from an empty dist/, once the bundle built: a broken source tree then
    // leaves the last dist/ in place (marked stale) rather than nothing.
    if (whole && step === steps[1]) rmSync(ctx.dist, { recursive: true, force: true });
    const started = Date.now();
    await step.run(ctx);
    ctx.log(`${step.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  // Only a whole build says what dist/ holds; a partial one leaves it stale on purpose.
  if (whole) writeFileSync(stampFile(ctx), `${inputs}\n`);
  return 0;
}
