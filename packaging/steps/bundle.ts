// Step 1, bundle: src/cli/main.ts → build/sparkngin.cjs (one CommonJS file, what a SEA runs), made
// by the same scripts/build.mjs `npm run build` uses, so the executable and `npm start` never differ.
import { join } from 'node:path';
import { run } from '../exec';
import type { Step } from './step';

export const bundle: Step = {
  name: 'bundle',
  produces: 'build/sparkngin.cjs',
  run(ctx) {
    run(process.execPath, [join(ctx.root, 'scripts/build.mjs')], { cwd: ctx.root, inherit: true });
  },
};
