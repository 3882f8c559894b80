// The darwin single executables (they cannot run here): Mach-O files for the right CPU that carry
// the very SEA blob the Linux executables carry, in the NODE_SEA segment where Node looks for it,
// with an ad-hoc code signature whose every page hash is checked by a reader of ours
// (test/dist/macos/macho.py), not by the signer; and the zeromq addons beside them, signed alike.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { hostTarget, TARGETS, targetByName } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, tempDir } from './helpers';
import { type MachOSlice, machO } from './macos/read';

const DARWIN = TARGETS.filter((target) => target.os === 'darwin');
/** <mach-o/machine.h>: CPU_TYPE_X86_64 and CPU_TYPE_ARM64; file(1)'s words for them. */
const CPU = {
  x64: { type: 0x01000007, file: /^Mach-O 64-bit x86_64 executable/ },
  arm64: { type: 0x0100000c, file: /^Mach-O 64-bit arm64 executable/ },
} as const;
const MH_EXECUTE = 2;
/** zeromq's addon is built as a dylib (Node's dlopen takes a bundle or a dylib). */
const MH_DYLIB = 6;

let ctx: Context;

beforeAll(() => {
  ctx = ensureDist();
}, DIST_TIMEOUT_MS);

function seaBlob(file: string, slice: MachOSlice): Buffer {
  const segment = slice.segments.find((s) => s.name === 'NODE_SEA');
  expect(segment, 'a NODE_SEA segment').toBeDefined();
  const section = segment!.sections.find((s) => s.name === '__NODE_SEA_BLOB');
  expect(section, 'a __NODE_SEA_BLOB section').toBeDefined();
  return readFileSync(file).subarray(section!.offset, section!.offset + section!.size);
}

function expectSignedAdHoc(slice: MachOSlice, identifier: string): void {
  const signature = slice.signature;
  expect(signature, 'an LC_CODE_SIGNATURE').not.toBeNull();
  expect(signature!.identifier).toBe(identifier);
  expect(signature!.adhoc).toBe(true);
  expect([signature!.hashType, signature!.hashSize, signature!.pageSize]).toEqual([2, 32, 4096]); // SHA-256 of 4 KiB pages
  expect(signature!.badPages).toEqual([]);
  expect(signature!.slotsCoverCode).toBe(true);
  expect(signature!.codeLimitIsSignatureOffset).toBe(true);
  expect(signature!.insideLinkedit).toBe(true);
  expect(signature!.atEndOfFile).toBe(true);
  expect(Object.values(signature!.specialSlots).every(Boolean), JSON.stringify(signature!.specialSlots)).toBe(true);
  if (signature!.execSeg) expect(signature!.execSeg.matchesText).toBe(true);
}

describe('darwin executables', () => {
  it('are Mach-O executables for their CPU, by file(1) and by our reader', () => {
    for (const target of DARWIN) {
      const file = names.binary(ctx, target);
      expect(ok('file', ['-b', file])).toMatch(CPU[target.arch].file);
      const [slice, ...more] = machO(file);
      expect(more).toEqual([]);
      expect([slice!.cputype, slice!.filetype, slice!.fat]).toEqual([CPU[target.arch].type, MH_EXECUTE, null]);
    }
  });

  it('carry the same SEA blob as the Linux executables, in the NODE_SEA segment, with the fuse flipped', () => {
    // The build host's own target gets V8's code cache in its blob (packaging/steps/binary.ts); every
    // other target, darwin included, gets the one plain blob.
    const plain = TARGETS.filter((target) => target.os === 'linux' && target !== hostTarget());
    expect(plain.length).toBeGreaterThan(0);
    const linux = plain.map((target) => readFileSync(names.binary(ctx, target)));
    const blobs = DARWIN.map((target) => seaBlob(names.binary(ctx, target), machO(names.binary(ctx, target))[0]!));
    // Node's SEA blob starts with its magic, 0x0143da20 (little-endian).
    expect(blobs[0]!.readUInt32LE(0)).toBe(0x0143da20);
    expect(blobs[0]!.includes(`sparkngin ${ctx.version}`) || blobs[0]!.includes('config keys')).toBe(true);
    for (const blob of blobs) {
      expect(blob.equals(blobs[0]!)).toBe(true);
      for (const elf of linux) expect(elf.includes(blob)).toBe(true);
    }
    for (const target of DARWIN) expect(readFileSync(names.binary(ctx, target)).includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true);
  });

  it('are signed ad hoc, and every page hash matches, the blob included', () => {
    for (const target of DARWIN) {
      const [slice] = machO(names.binary(ctx, target));
      expectSignedAdHoc(slice!, 'org.sparkngin.sparkngin');
      const sea = slice!.segments.find((s) => s.name === 'NODE_SEA')!;
      expect(slice!.signature!.codeLimit).toBeGreaterThanOrEqual(sea.fileoff + sea.filesize);
    }
  });

  it('the checker is not a rubber stamp: one changed byte of the blob is a bad page', () => {
    const file = names.binary(ctx, targetByName('darwin-arm64'));
    const sea = machO(file)[0]!.segments.find((s) => s.name === 'NODE_SEA')!.sections[0]!;
    const copy = join(tempDir('tamper'), 'sparkngin');
    copyFileSync(file, copy);
    const bytes = readFileSync(copy);
    const at = sea.offset + 5000;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(copy, bytes);
    expect(machO(copy)[0]!.signature!.badPages).toEqual([Math.floor(at / 4096)]);
  });
});

describe('darwin addons', () => {
  it('the zeromq addon for each target: a Mach-O dylib for its CPU, signed ad hoc', () => {
    for (const target of DARWIN) {
      const dir = names.addons(ctx, target);
      expect(readdirSync(dir)).toEqual(['zeromq.node']);
      const [slice, ...more] = machO(join(dir, 'zeromq.node'));
      expect(more).toEqual([]);
      expect([slice!.cputype, slice!.filetype]).toEqual([CPU[target.arch].type, MH_DYLIB]);
      expectSignedAdHoc(slice!, 'org.sparkngin.zeromq');
    }
  });
});
