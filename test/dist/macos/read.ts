// Readers the macOS dist tests share: the Python checkers beside this file (written apart from the
// TypeScript writers in packaging/macos/), and the .pkg unpacked by the standard tools (bsdtar for
// the xar, gzip and GNU cpio for the Payload and Scripts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, tempDir } from '../helpers';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface CodeSignature {
  identifier: string;
  version: number;
  flags: number;
  adhoc: boolean;
  hashType: number;
  hashSize: number;
  pageSize: number;
  codeLimit: number;
  codeLimitIsSignatureOffset: boolean;
  codeSlots: number;
  slotsCoverCode: boolean;
  badPages: number[];
  specialSlots: Record<string, boolean>;
  execSeg: { base: number; limit: number; flags: number; matchesText: boolean } | null;
  blobs: number[];
  insideLinkedit: boolean;
  atEndOfFile: boolean;
}

export interface MachOSlice {
  cputype: number;
  cpusubtype: number;
  filetype: number;
  segments: Array<{ name: string; fileoff: number; filesize: number; sections: Array<{ name: string; size: number; offset: number }> }>;
  signature: CodeSignature | null;
  fat: { cputype: number; cpusubtype: number; offset: number; size: number; align: number } | null;
}

/** test/dist/macos/macho.py: every slice of a Mach-O, its segments and its checked signature. */
export function machO(file: string): MachOSlice[] {
  return JSON.parse(ok('python3', [join(HERE, 'macho.py'), file], { timeoutMs: 300_000 })) as MachOSlice[];
}

export interface BomRow {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  checksum: number;
  mtime: number;
}

/** test/dist/macos/bom.py: the paths a Bom lists. */
export function bomRows(file: string): BomRow[] {
  return ok('python3', [join(HERE, 'bom.py'), file])
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as BomRow);
}

export interface UnpackedPkg {
  /** The xar's entries, extracted by bsdtar. */
  xar: string;
  /** The Payload, extracted by cpio (modes and times kept). */
  payload: string;
  /** The Scripts archive, extracted by cpio. */
  scripts: string;
}

export function unpackPkg(pkg: string): UnpackedPkg {
  const dir = tempDir('pkg');
  const xar = join(dir, 'xar');
  const payload = join(dir, 'payload');
  const scripts = join(dir, 'scripts');
  ok('mkdir', ['-p', xar, payload, scripts]);
  ok('bsdtar', ['-xf', pkg, '-C', xar]);
  const cpio = (archive: string, into: string) =>
    ok('sh', ['-c', 'gzip -dc "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', archive, into], { timeoutMs: 300_000 });
  cpio(join(xar, 'sparkngin.pkg/Payload'), payload);
  cpio(join(xar, 'sparkngin.pkg/Scripts'), scripts);
  return { xar, payload, scripts };
}

/** `cpio -tv` of a gzip'd archive: one row per path with its mode string, owner, group and size. */
export function cpioListing(archive: string): Array<{ mode: string; uid: number; gid: number; size: number; path: string }> {
  return ok('sh', ['-c', 'gzip -dc "$1" | cpio -tv --quiet --numeric-uid-gid', 'sh', archive], { timeoutMs: 300_000 })
    .trim()
    .split('\n')
    .map((line) => {
      const [mode, , uid, gid, size, ...rest] = line.split(/\s+/);
      return { mode: mode!, uid: Number(uid), gid: Number(gid), size: Number(size), path: rest.slice(3).join(' ') };
    });
}

export const read = (file: string) => readFileSync(file);
