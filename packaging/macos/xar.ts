// xar, the archive format of a flat installer package. libarchive writes xar too, but its archives
// end in 20 stray bytes (7-Zip: "data after the end of archive") and carry the build machine's
// clock, inodes and device numbers in the table of contents; this writer is small and gives the same
// bytes for the same tree. bsdtar and 7-Zip read its output back in the tests.
//
// Layout: a 28-byte header (big-endian: 'xar!', header size u16 = 28, version u16 = 1, compressed and
// uncompressed TOC length u64, checksum algorithm u32 = 1 for SHA-1), the zlib-compressed XML table
// of contents, then the heap: the SHA-1 of the compressed TOC at heap offset 0 (the TOC says where),
// then each file's data, stored as is (the payloads are gzip'd already), with its SHA-1.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

interface Heap {
  parts: Buffer[];
  length: number;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A xar archive of the entries (files and directories, recursively) `names` of `dir`. */
export function xarArchive(dir: string, names: readonly string[], mtime: Date): Buffer {
  const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');
  const heap: Heap = { parts: [], length: 20 }; // the TOC checksum comes first
  let nextId = 1;
  const time = mtime.toISOString().replace(/\.\d{3}Z$/, 'Z');

  const entry = (path: string, name: string, indent: string): string => {
    const stat = statSync(path);
    const id = nextId++;
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    const common = `${indent} <name>${escape(name)}</name>\n${indent} <mode>${mode}</mode>\n${indent} <uid>0</uid>\n${indent} <user>root</user>\n${indent} <gid>0</gid>\n${indent} <group>wheel</group>\n${indent} <mtime>${time}</mtime>\n`;
    if (stat.isDirectory()) {
      const children = readdirSync(path)
        .sort()
        .map((child) => entry(join(path, child), child, `${indent} `))
        .join('');
      return `${indent}<file id="${id}">\n${common}${indent} <type>directory</type>\n${children}${indent}</file>\n`;
    }
    const data = readFileSync(path);
    const digest = sha1(data);
    const offset = heap.length;
    heap.parts.push(data);
    heap.length += data.length;
    return (
      `${indent}<file id="${id}">\n${common}${indent} <type>file</type>\n` +
      `${indent} <data>\n${indent}  <length>${data.length}</length>\n${indent}  <offset>${offset}</offset>\n${indent}  <size>${data.length}</size>\n` +
      `${indent}  <encoding style="application/octet-stream"/>\n` +
      `${indent}  <archived-checksum style="sha1">${digest}</archived-checksum>\n${indent}  <extracted-checksum style="sha1">${digest}</extracted-checksum>\n` +
      `${indent} </data>\n${indent}</file>\n`
    );
  };

  const files = names.map((name) => entry(join(dir, name), name, '  ')).join('');
  const toc = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<xar>\n <toc>\n  <checksum style="sha1">\n   <offset>0</offset>\n   <size>20</size>\n  </checksum>\n  <creation-time>${time}</creation-time>\n${files} </toc>\n</xar>\n`,
    'utf8',
  );
  const compressed = deflateSync(toc, { level: 9 });
  const header = Buffer.alloc(28);
  header.write('xar!', 0, 'ascii');
  header.writeUInt16BE(28, 4);
  header.writeUInt16BE(1, 6);
  header.writeBigUInt64BE(BigInt(compressed.length), 8);
  header.writeBigUInt64BE(BigInt(toc.length), 16);
  header.writeUInt32BE(1, 24);
  const tocDigest = createHash('sha1').update(compressed).digest();
  return Buffer.concat([header, compressed, tocDigest, ...heap.parts]);
}
