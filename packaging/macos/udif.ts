// A compressed UDIF disk image (.dmg, variant UDZO: zlib), written around a raw volume image, as
// hdiutil writes one. Debian has no writer (libdmg-hfsplus is not packaged), and the format is small
// over zlib; 7-Zip and dmg2img read it back in the tests.
//
// Layout (big-endian): the data fork (the chunks, back to back), then an XML property list whose
// resource-fork/blkx entry holds one "mish" table per partition, then the 512-byte "koly" trailer.
//   mish: 'mish', version 1, first sector u64, sector count u64, data offset u64 (0), buffers needed
//         u32 (sectors of the largest chunk + 8), partition number u32, 24 reserved bytes, checksum
//         (UDIFChecksum: type 2 = CRC-32, 32 bits, 32 u32 words: the CRC of the uncompressed
//         partition), run count u32, then runs of 40 bytes {type u32, 0 u32, sector u64 (relative),
//         sector count u64, offset in the data fork u64, length u64}, closed by a terminator run.
//   run types: 0x80000005 zlib, 1 raw (what does not shrink), 0 zeros (nothing stored: a run of zero
//         sectors must be this type, 7-Zip reports a CRC error otherwise), 0xffffffff end.
//   koly: 'koly', version 4, size 512, flags 1 (flattened), running data fork offset, data fork
//         offset and length, resource fork offset and length (0), segment 1 of 1, segment id (16
//         random-looking bytes: here a hash, for reproducible images), data fork checksum (CRC-32 of
//         the data fork), XML offset and length, 120 reserved bytes, master checksum (CRC-32 over
//         the mish checksums), image variant 1, sector count u64, 12 reserved bytes.
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

const SECTOR = 512;
/** 1 MiB of uncompressed data per run, as hdiutil does. */
const CHUNK_SECTORS = 2048;
const RUN = { zeros: 0x00000000, raw: 0x00000001, zlib: 0x80000005, end: 0xffffffff } as const;

function checksum(crc: number): Buffer {
  const b = Buffer.alloc(136);
  b.writeUInt32BE(2, 0);
  b.writeUInt32BE(32, 4);
  b.writeUInt32BE(crc >>> 0, 8);
  return b;
}

function u64(b: Buffer, value: number, at: number): void {
  b.writeBigUInt64BE(BigInt(value), at);
}

export class ImageSizeError extends Error {
  constructor(size: number) {
    super(`a disk image holds whole 512-byte sectors; the volume is ${size} bytes`);
  }
}

/**
 * UDZO image of `volume`, one partition (a bare HFS+ volume, no partition map: what
 * `hdiutil create -layout NONE` makes). `name` is the partition's label in the blkx table.
 */
export function udzo(volume: Buffer, name = 'disk image (Apple_HFS : 0)'): Buffer {
  if (volume.length % SECTOR !== 0) throw new ImageSizeError(volume.length);
  const sectors = volume.length / SECTOR;
  const forks: Buffer[] = [];
  let forkLength = 0;
  const runs: Buffer[] = [];
  const run = (type: number, sector: number, count: number, data?: Buffer) => {
    const r = Buffer.alloc(40);
    r.writeUInt32BE(type, 0);
    u64(r, sector, 8);
    u64(r, count, 16);
    u64(r, forkLength, 24);
    u64(r, data?.length ?? 0, 32);
    runs.push(r);
    if (data) {
      forks.push(data);
      forkLength += data.length;
    }
  };
  for (let sector = 0; sector < sectors; sector += CHUNK_SECTORS) {
    const count = Math.min(CHUNK_SECTORS, sectors - sector);
    const chunk = volume.subarray(sector * SECTOR, (sector + count) * SECTOR);
    if (isZero(chunk)) {
      run(RUN.zeros, sector, count);
      continue;
    }
    // Level 1, hdiutil's default for UDZO: the image mostly holds the already compressed .pkg.
    const packed = deflateSync(chunk, { level: 1 });
    if (packed.length < chunk.length) run(RUN.zlib, sector, count, packed);
    else run(RUN.raw, sector, count, Buffer.from(chunk));
  }
  run(RUN.end, sectors, 0);

  const volumeCrc = crc32(volume);
  const mish = Buffer.alloc(204);
  mish.write('mish', 0, 'ascii');
  mish.writeUInt32BE(1, 4);
  u64(mish, 0, 8);
  u64(mish, sectors, 16);
  u64(mish, 0, 24);
  mish.writeUInt32BE(CHUNK_SECTORS + 8, 32);
  mish.writeUInt32BE(0, 36);
  checksum(volumeCrc).copy(mish, 64);
  mish.writeUInt32BE(runs.length, 200);
  const blkx = Buffer.concat([mish, ...runs]);

  const dataFork = Buffer.concat(forks);
  const xml = Buffer.from(plist(blkx, name), 'utf8');
  const masterCrc = crc32(u32(volumeCrc));
  const koly = Buffer.alloc(512);
  koly.write('koly', 0, 'ascii');
  koly.writeUInt32BE(4, 4);
  koly.writeUInt32BE(512, 8);
  koly.writeUInt32BE(1, 12);
  u64(koly, 0, 16); // running data fork offset
  u64(koly, 0, 24); // data fork offset
  u64(koly, dataFork.length, 32);
  u64(koly, 0, 40); // resource fork offset
  u64(koly, 0, 48); // resource fork length
  koly.writeUInt32BE(1, 56); // segment number
  koly.writeUInt32BE(1, 60); // segment count
  createHash('sha256').update(volume).digest().copy(koly, 64, 0, 16); // segment id
  checksum(crc32(dataFork)).copy(koly, 80);
  u64(koly, dataFork.length, 216); // XML offset
  u64(koly, xml.length, 224);
  checksum(masterCrc).copy(koly, 352);
  koly.writeUInt32BE(1, 488); // image variant: device image
  u64(koly, sectors, 492);
  return Buffer.concat([dataFork, xml, koly]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function isZero(chunk: Buffer): boolean {
  // Compare 64 KiB at a time against a zeroed buffer (Buffer.compare is native).
  const zeros = Buffer.alloc(Math.min(chunk.length, 65536));
  for (let at = 0; at < chunk.length; at += zeros.length) {
    const part = chunk.subarray(at, at + zeros.length);
    if (Buffer.compare(part, zeros.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

function plist(blkx: Buffer, name: string): string {
  const base64 = blkx.toString('base64').replace(/.{1,52}/g, '\t\t\t\t$&\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>resource-fork</key>
\t<dict>
\t\t<key>blkx</key>
\t\t<array>
\t\t\t<dict>
\t\t\t\t<key>Attributes</key>
\t\t\t\t<string>0x0050</string>
\t\t\t\t<key>CFName</key>
\t\t\t\t<string>${name}</string>
\t\t\t\t<key>Data</key>
\t\t\t\t<data>
${base64}\t\t\t\t</data>
\t\t\t\t<key>ID</key>
\t\t\t\t<string>0</string>
\t\t\t\t<key>Name</key>
\t\t\t\t<string>${name}</string>
\t\t\t</dict>
\t\t</array>
\t</dict>
</dict>
</plist>
`;
}
