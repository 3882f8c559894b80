// Step 5, man: man/sparkngin.8.md (markdown, the source everyone edits) → dist/man/sparkngin.8
// (roff), rendered by go-md2man (Debian package go-md2man). @VERSION@ and @DATE@ are filled in here.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { names } from '../context';
import { requireTools, run } from '../exec';
import type { Step } from './step';

export const man: Step = {
  name: 'man',
  produces: 'dist/man/sparkngin.8',
  run(ctx) {
    requireTools('man', { 'go-md2man': 'go-md2man' });
    const source = readFileSync(join(ctx.root, 'man/sparkngin.8.md'), 'utf8')
      .replaceAll('@VERSION@', ctx.version)
      .replaceAll('@DATE@', ctx.date.toISOString().slice(0, 10));
    const roff = run('go-md2man', [], { input: source });
    const out = names.manPage(ctx);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, roff);
  },
};
