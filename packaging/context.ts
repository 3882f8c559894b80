// What every packaging step gets: where things are, what version is being built, for which targets.
// Steps read inputs from here and from the outputs of the steps before them (see steps/index.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Target, TARGETS, targetByName } from './targets';

export interface Context {
  /** Repository root. */
  root: string;
  /** Everything users get lands here. */
  dist: string;
  /** Scratch space for staging trees and rpmbuild top dirs; safe to delete. */
  work: string;
  /** Downloads kept across builds (Node binaries): ${SPARKNGIN_CACHE:-$HOME/.cache/sparkngin}. */
  cache: string;
  /** package.json version, e.g. 0.1.0 or 0.2.0-rc.1. */
  version: string;
  commit: string;
  /** Release date for man page and changelog headers: the commit's date, so rebuilds are identical. */
  date: Date;
  targets: readonly Target[];
  /** Base URL the yum repository is published at; baked into setup.sh and sparkngin.repo. */
  repoUrl: string;
  /** Base URL the apt repository is published at; baked into sparkngin.sources. */
  aptUrl: string;
  log(message: string): void;
}

/** Default publication URLs; a release sets SPARKNGIN_REPO_URL and SPARKNGIN_APT_URL to the real ones. */
export const DEFAULT_REPO_URL = 'https://downloads.sparkngin.org/yum';
export const DEFAULT_APT_URL = 'https://downloads.sparkngin.org/apt';

export function createContext(options: { root: string; targets?: string[] }): Context {
  const root = resolve(options.root);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return undefined;
    }
  };
  const epoch = process.env.SOURCE_DATE_EPOCH ?? git('log', '-1', '--format=%ct');
  return {
    root,
    dist: join(root, 'dist'),
    work: join(root, 'build', 'dist-work'),
    cache: process.env.SPARKNGIN_CACHE ?? join(homedir(), '.cache', 'sparkngin'),
    version: pkg.version,
    commit: git('rev-parse', '--short', 'HEAD') ?? process.env.SPARKNGIN_COMMIT ?? 'unknown',
    date: epoch ? new Date(Number(epoch) * 1000) : new Date(),
    targets: options.targets ? options.targets.map(targetByName) : TARGETS,
    repoUrl: (process.env.SPARKNGIN_REPO_URL ?? DEFAULT_REPO_URL).replace(/\/+$/, ''),
    aptUrl: (process.env.SPARKNGIN_APT_URL ?? DEFAULT_APT_URL).replace(/\/+$/, ''),
    log: (message) => process.stderr.write(`dist: ${message}\n`),
  };
}

/** RPM and Debian versions cannot carry '-': 0.2.0-rc.1 → 0.2.0~rc.1 (sorts before 0.2.0 in both). */
export function packageVersion(version: string): string {
  return version.replace('-', '~');
}

/**
 * The files several steps share: what a step makes for the ones after it. A format's own files
 * (tarball, RPM, .pkg, ...) are named in its step's module.
 */
export const names = {
  binary: (ctx: Context, target: Target) => join(ctx.dist, 'bin', `sparkngin-${target.name}`),
  /** Native addons for a target, what goes to <dir of the executable>/../lib/sparkngin/. */
  addons: (ctx: Context, target: Target) => join(ctx.dist, 'lib', target.name),
  manPage: (ctx: Context) => join(ctx.dist, 'man', 'sparkngin.8'),
};
