// Filled in by the bundler (scripts/build.mjs); the fallbacks serve tests that run src/ directly.
declare const SPARKNGIN_VERSION: string | undefined;
declare const SPARKNGIN_COMMIT: string | undefined;

export const VERSION = typeof SPARKNGIN_VERSION === 'string' ? SPARKNGIN_VERSION : '0.0.0-dev';
export const COMMIT = typeof SPARKNGIN_COMMIT === 'string' ? SPARKNGIN_COMMIT : 'dev';
/** Platform and architecture this binary runs as, e.g. linux-x64. */
export const TARGET = `${process.platform}-${process.arch}`;
