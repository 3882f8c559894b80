// The Bom ("bill of materials") of a component package: every path of the Payload with its type,
// mode, owner, size and checksum. macOS Installer records it as the receipt (`pkgutil --files`) and
// lsbom reads it. Neither npm nor crates.io has a maintained writer (apple-bom's writing is "a work
// in progress"), so it is written here from the published layout of Apple's BOMStore (as documented
// by bomutils' bom.h and read by lsbom, bomutils and apple-bom); test/dist/macos/bom.py reads it back
// independently.
//
// File layout, all integers big-endian:
//   header (512 bytes): "BOMStore", version 1, number of non-null blocks, index offset and length,
//                       vars offset and length
//   vars:   count, then per var {block index u32, name length u8, name}: the named roots
//           BomInfo, Paths, HLIndex, VIndex, Size64
//   blocks: the data blocks, back to back
//   index:  count, then {address u32, length u32} per block (block 0 is null); then a free list
//           (count 0, two null pointers, as mkbom writes it)
// Paths is a B+ tree ("tree", version 1, root block, block size 4096, path count, 0 u8) of leaves
// {isLeaf u16 = 1, count u16, forward u32, backward u32, then per path {info1 block, file block}};
// with more than PATHS_PER_LEAF paths a branch node (isLeaf 0) points at the leaves, keyed by each
// leaf's last file block. A path is:
//   file block  {parent id u32, name NUL-terminated}: one component, under its parent's id (0 for ".")
//   info1 block {id u32, info2 block u32}
//   info2 block {type u8 (1 file, 2 dir, 3 link), 1 u8, arch u16 = 3, mode u16, uid u32, gid u32,
//                mtime u32, size u32, 1 u8, checksum u32 (POSIX cksum CRC), link name length u32,
//                link name}
// Paths are numbered breadth first, children by name: the tree's key order.

export interface BomEntry {
  /** "." or "./usr/local/bin/sparkngin": the Payload's paths. */
  path: string;
  type: 'file' | 'dir';
  /** Permission bits (the type bits are added here). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** POSIX cksum CRC of the content (files; 0 for directories). */
  checksum: number;
}

const PATHS_PER_LEAF = 256;
const TYPE = { file: 1, dir: 2 } as const;
const MODE_BITS = { file: 0o100000, dir: 0o040000 } as const;

class BomStore {
  private readonly blocks: Buffer[] = [];
  private readonly vars: Array<{ name: string; block: number }> = [];

  /** Adds a data block; returns its index (1-based: 0 is the null block). */
  add(data: Buffer): number {
    this.blocks.push(data);
    return this.blocks.length;
  }

  block(index: number): Buffer {
    return this.blocks[index - 1]!;
  }

  addVar(name: string, data: Buffer): void {
    this.vars.push({ name, block: this.add(data) });
  }

  serialize(): Buffer {
    const headerSize = 512;
    const vars = Buffer.concat([
      u32(this.vars.length),
      ...this.vars.map(({ name, block }) => Buffer.concat([u32(block), Buffer.from([name.length]), Buffer.from(name, 'ascii')])),
    ]);
    const index: Buffer[] = [u32(this.blocks.length + 1), u32(0), u32(0)];
    let address = headerSize + vars.length;
    for (const block of this.blocks) {
      index.push(u32(address), u32(block.length));
      address += block.length;
    }
    // Free list: none, and two null pointers.
    index.push(u32(0), Buffer.alloc(16));
    const indexTable = Buffer.concat(index);
    const header = Buffer.alloc(headerSize);
    header.write('BOMStore', 0, 'ascii');
    header.writeUInt32BE(1, 8);
    header.writeUInt32BE(this.blocks.length, 12);
    header.writeUInt32BE(address, 16);
    header.writeUInt32BE(indexTable.length, 20);
    header.writeUInt32BE(headerSize, 24);
    header.writeUInt32BE(vars.length, 28);
    return Buffer.concat([header, vars, ...this.blocks, indexTable]);
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function tree(child: number, pathCount: number, blockSize = 4096): Buffer {
  const b = Buffer.alloc(21);
  b.write('tree', 0, 'ascii');
  b.writeUInt32BE(1, 4);
  b.writeUInt32BE(child, 8);
  b.writeUInt32BE(blockSize, 12);
  b.writeUInt32BE(pathCount, 16);
  return b;
}

function pathsNode(isLeaf: boolean, indices: ReadonlyArray<readonly [number, number]>, forward = 0, backward = 0): Buffer {
  const b = Buffer.alloc(12 + 8 * indices.length);
  b.writeUInt16BE(isLeaf ? 1 : 0, 0);
  b.writeUInt16BE(indices.length, 2);
  b.writeUInt32BE(forward, 4);
  b.writeUInt32BE(backward, 8);
  indices.forEach(([a, c], i) => {
    b.writeUInt32BE(a, 12 + 8 * i);
    b.writeUInt32BE(c, 16 + 8 * i);
  });
  return b;
}

function info2(entry: BomEntry): Buffer {
  const b = Buffer.alloc(31);
  b.writeUInt8(TYPE[entry.type], 0);
  b.writeUInt8(1, 1);
  b.writeUInt16BE(3, 2);
  b.writeUInt16BE(MODE_BITS[entry.type] | (entry.mode & 0o7777), 4);
  b.writeUInt32BE(entry.uid, 6);
  b.writeUInt32BE(entry.gid, 10);
  b.writeUInt32BE(entry.mtime, 14);
  b.writeUInt32BE(entry.type === 'file' ? entry.size : 0, 18);
  b.writeUInt8(1, 22);
  b.writeUInt32BE(entry.type === 'file' ? entry.checksum : 0, 23);
  b.writeUInt32BE(0, 27); // no link name
  return b;
}

export class BomPathError extends Error {
  constructor(path: string, reason: string) {
    super(`Bom: ${path}: ${reason}`);
  }
}

/** The Bom of `entries` (every path of the Payload, "." included, each parent listed). */
export function writeBom(entries: readonly BomEntry[]): Buffer {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const root = byPath.get('.');
  if (!root || root.type !== 'dir') throw new BomPathError('.', 'the root directory must be listed');
  const children = new Map<string, string[]>();
  for (const entry of entries) {
    if (entry.path === '.') continue;
    if (!entry.path.startsWith('./')) throw new BomPathError(entry.path, "paths start with './'");
    const parent = entry.path.slice(0, entry.path.lastIndexOf('/'));
    if (byPath.get(parent)?.type !== 'dir') throw new BomPathError(entry.path, `its directory ${parent} is not listed`);
    children.set(parent, [...(children.get(parent) ?? []), entry.path]);
  }

  const bom = new BomStore();
  const info = Buffer.alloc(12 + 16);
  info.writeUInt32BE(1, 0);
  info.writeUInt32BE(entries.length + 1, 4);
  info.writeUInt32BE(1, 8);
  bom.addVar('BomInfo', info);

  // Breadth first from ".", children in byte order of their names: ids 1..n.
  const leafEntries: Array<readonly [number, number]> = [];
  const queue: Array<{ path: string; parentId: number }> = [{ path: '.', parentId: 0 }];
  for (let id = 1; queue.length > 0; id++) {
    const { path, parentId } = queue.shift()!;
    const entry = byPath.get(path)!;
    const name = path === '.' ? '.' : path.slice(path.lastIndexOf('/') + 1);
    const info1 = Buffer.concat([u32(id), u32(bom.add(info2(entry)))]);
    const file = Buffer.concat([u32(parentId), Buffer.from(`${name}\0`, 'utf8')]);
    leafEntries.push([bom.add(info1), bom.add(file)]);
    const kids = (children.get(path) ?? []).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const kid of kids) queue.push({ path: kid, parentId: id });
  }

  // Leaves of up to PATHS_PER_LEAF paths, linked both ways; a branch above them if more than one.
  const leaves: number[] = [];
  for (let start = 0; start < leafEntries.length; start += PATHS_PER_LEAF) {
    leaves.push(bom.add(pathsNode(true, leafEntries.slice(start, start + PATHS_PER_LEAF), 0, leaves.at(-1) ?? 0)));
  }
  leaves.forEach((leaf, i) => {
    if (i + 1 < leaves.length) bom.block(leaf).writeUInt32BE(leaves[i + 1]!, 4);
  });
  const lastFileOf = (i: number) => leafEntries[Math.min((i + 1) * PATHS_PER_LEAF, leafEntries.length) - 1]![1];
  const rootNode = leaves.length === 1 ? leaves[0]! : bom.add(pathsNode(false, leaves.map((leaf, i) => [leaf, lastFileOf(i)] as const)));
  bom.addVar('Paths', tree(rootNode, entries.length));

  // The other indexes an installer package's Bom carries, empty: hard links, "virtual" paths, 64-bit sizes.
  const emptyLeaf = () => bom.add(pathsNode(true, []));
  bom.addVar('HLIndex', tree(emptyLeaf(), 0));
  const vindex = Buffer.alloc(13);
  vindex.writeUInt32BE(1, 0);
  vindex.writeUInt32BE(bom.add(tree(emptyLeaf(), 0, 128)), 4);
  bom.addVar('VIndex', vindex);
  bom.addVar('Size64', tree(emptyLeaf(), 0));
  return bom.serialize();
}
