// Bundles the TypeScript CLI into one CommonJS file: what `npm start` runs and what the
// single-executable build (packaging/) injects into a Node binary. CommonJS because Node's
// single-executable mechanism only runs a CommonJS main script.
// Also the client library `sparkngin/client` (src/client), as ESM and CJS bundles with nothing
// outside Node's own modules but zeromq, which stays a package (a dependency of ours) loaded from the
// consumer's node_modules only when a tcp:// instance is used; its type declarations come from
// `npm run build:types`.
import { build } from 'esbuild';
import { execSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let commit = process.env.SPARKNGIN_COMMIT ?? 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // Not a git checkout (an unpacked source tarball): keep the env value or 'unknown'.
}

const define = {
  SPARKNGIN_VERSION: JSON.stringify(pkg.version),
  SPARKNGIN_COMMIT: JSON.stringify(commit),
};

// zeromq's JavaScript is bundled; its addon is found by src/zeromq/load-addon.ts instead of the
// package's own loader, which looks beside the package's files (the single executable has none).
const zeromqAddon = {
  name: 'zeromq-addon',
  setup(build) {
    const loader = new URL('../src/zeromq/load-addon.ts', import.meta.url).pathname;
    build.onResolve({ filter: /^\.\/load-addon$/ }, (args) => (/[\\/]zeromq[\\/]lib$/.test(args.resolveDir) ? { path: loader } : undefined));
  },
};

await build({
  plugins: [zeromqAddon],
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: new URL('../build/sparkngin.cjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define,
});

rmSync(new URL('../build/client', import.meta.url), { recursive: true, force: true });
for (const [format, file] of [['esm', 'index.mjs'], ['cjs', 'index.cjs']]) {
  await build({
    entryPoints: [new URL('../src/client/index.ts', import.meta.url).pathname],
    outfile: new URL(`../build/client/${file}`, import.meta.url).pathname,
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    // Its native addon is found by its own loader beside the package; HTTP-only clients never load it.
    external: ['zeromq'],
    // CommonJS packages inside the ESM bundle (bonjour-service's, for discovery) require Node's modules.
    ...(format === 'esm' ? { banner: { js: "import { createRequire as __sparknginRequire } from 'node:module'; const require = __sparknginRequire(import.meta.url);" } } : {}),
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    define,
  });
}
