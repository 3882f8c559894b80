// Last step, checksums: dist/SHA256SUMS over the files users download directly (executables,
// tarballs, RPMs); the repository has its own signed metadata.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Step } from './step';

export const checksums: Step = {
  name: 'checksums',
  produces: 'dist/SHA256SUMS',
  run(ctx) {
    const files = ['bin', 'rpm', 'deb', '.']
      .flatMap((dir) => {
        try {
          return readdirSync(join(ctx.dist, dir)).map((name) => join(ctx.dist, dir, name));
        } catch {
          return [];
        }
      })
      .filter((file) => statSync(file).isFile() && !file.endsWith('SHA256SUMS') && !relative(ctx.dist, file).startsWith('.'))
      .sort();
    const lines = files.map((file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${relative(ctx.dist, file)}\n`);
    writeFileSync(join(ctx.dist, 'SHA256SUMS'), lines.join(''));
  },
};
