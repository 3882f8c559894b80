// An HFS+ volume image of a directory. Debian has no mkfs.hfsplus; xorriso writes HFS+ only as part
// of a hybrid ISO 9660 image: an Apple Partition Map whose Apple_HFS partition holds a complete HFS+
// volume (its catalog and the files' data blocks, which the ISO 9660 tree shares). The disk image
// carries just that partition, a bare HFS+ volume, as `hdiutil create -layout NONE` makes.
//
// APM: 512-byte entries from byte 512, each 'PM', u32 map size, u32 first block, u32 block count,
// 32-byte name, 32-byte type. HFS+ volume header at 1024 in the volume: 'H+', version 4, ...,
// block size u32 at 40, total blocks u32 at 44.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec';

export class NoHfsPartitionError extends Error {
  constructor(reason: string) {
    super(`xorriso's image has no usable HFS+ partition: ${reason}`);
  }
}

/** The bare HFS+ volume inside a hybrid image written by `xorriso -as mkisofs -hfsplus`. */
export function hfsPartition(image: Buffer): Buffer {
  const blockSize = 512;
  for (let entry = 1; entry < 64; entry++) {
    const at = entry * blockSize;
    if (image.toString('ascii', at, at + 2) !== 'PM') break;
    if (image.toString('ascii', at + 48, at + 80).replace(/\0+$/, '') !== 'Apple_HFS') continue;
    const start = image.readUInt32BE(at + 8) * blockSize;
    const header = image.subarray(start + 1024, start + 1536);
    if (header.toString('ascii', 0, 2) !== 'H+') throw new NoHfsPartitionError(`no HFS+ volume header at ${start + 1024}`);
    const size = header.readUInt32BE(40) * header.readUInt32BE(44);
    if (start + size > image.length) throw new NoHfsPartitionError(`the volume (${size} bytes at ${start}) runs past the image's end`);
    return Buffer.from(image.subarray(start, start + size));
  }
  throw new NoHfsPartitionError('no Apple_HFS entry in the partition map');
}

/** An HFS+ volume named `name` holding the files of `dir` (with their modes), in `work`. */
export function hfsVolume(dir: string, name: string, work: string, epoch: number): Buffer {
  const image = join(work, 'hybrid.iso');
  run('xorriso', ['-as', 'mkisofs', '-quiet', '-hfsplus', '-V', name, '-uid', '0', '-gid', '0', '-o', image, dir], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  });
  return hfsPartition(readFileSync(image));
}
