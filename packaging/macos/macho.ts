// Mach-O, as far as the packaging needs it: which CPU a thin 64-bit Mach-O is for, and a universal
// ("fat") file made of several thin ones, as Apple's lipo writes it. The .pkg installs one universal
// executable (and addon) for both Intel and Apple silicon Macs, as Node's own macOS installer does.
//
// Fat layout (all big-endian): magic 0xcafebabe, count, then per slice {cputype, cpusubtype, offset,
// size, align (log2)}; each slice starts at a multiple of 2^align. Each slice keeps its own code
// signature (offsets in a signature are relative to its slice), so signing happens before this.

const MH_MAGIC_64 = 0xfeedfacf;
const FAT_MAGIC = 0xcafebabe;
/** 16 KiB, the arm64 page size; lipo aligns every slice so (x86_64 needs only 4 KiB). */
const SLICE_ALIGN_LOG2 = 14;

export const CPU_TYPE = { x86_64: 0x01000007, arm64: 0x0100000c } as const;

export class NotMachOError extends Error {
  constructor(what: string) {
    super(`${what} is not a thin 64-bit little-endian Mach-O`);
  }
}

export interface MachOHeader {
  cputype: number;
  cpusubtype: number;
  filetype: number;
}

export function machOHeader(bytes: Buffer, what = 'file'): MachOHeader {
  if (bytes.length < 32 || bytes.readUInt32LE(0) !== MH_MAGIC_64) throw new NotMachOError(what);
  return { cputype: bytes.readInt32LE(4), cpusubtype: bytes.readInt32LE(8), filetype: bytes.readUInt32LE(12) };
}

/** A universal file holding `slices` (thin Mach-O files), in the order given. */
export function universal(slices: readonly Buffer[]): Buffer {
  const align = 2 ** SLICE_ALIGN_LOG2;
  const header = Buffer.alloc(8 + 20 * slices.length);
  header.writeUInt32BE(FAT_MAGIC, 0);
  header.writeUInt32BE(slices.length, 4);
  const parts: Buffer[] = [header];
  let offset = header.length;
  slices.forEach((slice, i) => {
    const { cputype, cpusubtype } = machOHeader(slice, `slice ${i}`);
    const start = Math.ceil(offset / align) * align;
    parts.push(Buffer.alloc(start - offset));
    const entry = 8 + 20 * i;
    header.writeInt32BE(cputype, entry);
    header.writeInt32BE(cpusubtype, entry + 4);
    header.writeUInt32BE(start, entry + 8);
    header.writeUInt32BE(slice.length, entry + 12);
    header.writeUInt32BE(SLICE_ALIGN_LOG2, entry + 16);
    parts.push(slice);
    offset = start + slice.length;
  });
  return Buffer.concat(parts);
}
