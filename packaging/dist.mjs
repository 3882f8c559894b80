// Entry of `npm run dist`. The packaging code is TypeScript like the rest; Node 22's type stripping cannot run it
// (extensionless imports), so esbuild (already a dev dependency) bundles it to build/packaging.mjs first (~50 ms).
import { build } from 'esbuild';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}build/packaging.mjs`;
await build({
  entryPoints: [`${root}packaging/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  logLevel: 'warning',
});
const { main } = await import(pathToFileURL(outfile).href);
try {
  process.exitCode = await main(process.argv.slice(2), root);
} catch (error) {
  process.stderr.write(`dist: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
