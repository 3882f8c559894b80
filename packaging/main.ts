// `npm run dist`: runs the steps of steps/index.ts in order and records what dist/ was built from.
//   --only a,b      run just these steps (they read the outputs of earlier ones from dist/)
//   --targets x,y   linux-x64,linux-arm64,darwin-x64,darwin-arm64 (default: all)
//   --if-stale      do nothing when dist/ was built from the same inputs (what tests call)
//   --list          print the steps
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Context, createContext } from './context';
import { inputsHash, stampFile } from './inputs';
import { STEPS, stepsNamed } from './steps/index';
import { contextFor, type Step } from './steps/step';

export async function main(argv: string[], root: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, targets: { type: 'string' }, 'if-stale': { type: 'boolean' }, list: { type: 'boolean' } },
    strict: true,
  });
  if (values.list) {
    for (const step of STEPS) process.stdout.write(`${step.name.padEnd(10)} ${(step.os ?? ['all']).join(',').padEnd(13)} ${step.produces}\n`);
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
  if (!whole) {
    // A partial build changes dist/ in place and leaves it marked stale.
    rmSync(stampFile(ctx), { force: true });
    await runSteps(ctx, steps);
    return 0;
  }
  // A whole build is made in build/dist-next/ and swapped in at the end, so that whoever reads
  // dist/ meanwhile (a test file of another run) never sees it half-made, and a failed build leaves
  // the last good dist/ in place.
  const next = join(ctx.work, '..', `dist-next-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  try {
    await runSteps({ ...ctx, dist: next }, steps);
  } catch (error) {
    rmSync(next, { recursive: true, force: true });
    throw error;
  }
  writeFileSync(join(next, '.inputs'), `${inputs}\n`);
  const old = `${next}-old`;
  if (existsSync(ctx.dist)) renameSync(ctx.dist, old);
  renameSync(next, ctx.dist);
  rmSync(old, { recursive: true, force: true });
  return 0;
}

async function runSteps(ctx: Context, steps: readonly Step[]): Promise<void> {
  try {
    for (const step of steps) {
      const started = Date.now();
      const own = contextFor(step, ctx);
      if (!own) {
        ctx.log(`${step.name} skipped: no ${step.os!.join(' or ')} target`);
        continue;
      }
      await step.run(own);
      ctx.log(`${step.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    stopGpgAgents(ctx);
  }
}

/** Signing starts gpg-agents in the work dir's key rings; a build leaves no daemon behind. */
function stopGpgAgents(ctx: Context): void {
  if (!existsSync(ctx.work)) return;
  for (const name of readdirSync(ctx.work)) {
    if (name === 'gnupg' || name.startsWith('gnupg-release-')) spawnSync('gpgconf', ['--homedir', join(ctx.work, name), '--kill', 'all'], { stdio: 'ignore' });
  }
}
