#!/usr/bin/env python3
"""Lists the paths of a Bom (an installer package's bill of materials) as JSON lines.

Written for the tests apart from the TypeScript writer (packaging/macos/bom.ts), from Apple's
BOMStore layout as lsbom reads it: a 512-byte header ("BOMStore", version, block count, index
table offset and length, vars offset and length), the block index table (count, then address and
length per block), named vars pointing at blocks, and the "Paths" B+ tree whose leaves pair a path
info block (id, info2 block) with a file block (parent id, NUL-terminated name).

usage: bom.py FILE    one {"path", "type", "mode", "uid", "gid", "size", "checksum", "mtime"} per line
"""
import json
import struct
import sys

TYPES = {1: "file", 2: "dir", 3: "link", 4: "dev"}


class Bom:
    def __init__(self, data):
        if data[:8] != b"BOMStore":
            raise SystemExit("not a BOMStore file")
        version, self.block_count, index_off, index_len, vars_off, vars_len = struct.unpack(">6I", data[8:32])
        if version != 1:
            raise SystemExit(f"BOMStore version {version}")
        self.data = data
        count = struct.unpack(">I", data[index_off:index_off + 4])[0]
        self.pointers = [struct.unpack(">II", data[index_off + 4 + 8 * i:index_off + 12 + 8 * i]) for i in range(count)]
        if index_off + 4 + 8 * count > len(data) or index_off + index_len > len(data):
            raise SystemExit("index table runs past the end of the file")
        self.vars = {}
        at = vars_off + 4
        for _ in range(struct.unpack(">I", data[vars_off:vars_off + 4])[0]):
            index, length = struct.unpack(">IB", data[at:at + 5])
            self.vars[data[at + 5:at + 5 + length].decode("ascii")] = index
            at += 5 + length
        if at > vars_off + vars_len:
            raise SystemExit("vars run past their declared length")

    def block(self, index):
        address, length = self.pointers[index]
        if address + length > len(self.data):
            raise SystemExit(f"block {index} runs past the end of the file")
        return self.data[address:address + length]

    def tree_root(self, name):
        tree = self.block(self.vars[name])
        magic, version, child, block_size, path_count = struct.unpack(">4sIIII", tree[:20])
        if magic != b"tree" or version != 1:
            raise SystemExit(f"{name}: not a tree")
        return child, path_count

    def leaf_pairs(self, node_index):
        """(info1 block, file block) pairs of the tree below node_index, in key order."""
        node = self.block(node_index)
        is_leaf, count, forward, backward = struct.unpack(">HHII", node[:12])
        pairs = [struct.unpack(">II", node[12 + 8 * i:20 + 8 * i]) for i in range(count)]
        if is_leaf:
            return pairs
        out = []
        for child, _key in pairs:
            out.extend(self.leaf_pairs(child))
        return out

    def paths(self):
        root, path_count = self.tree_root("Paths")
        names = {}
        rows = []
        for info1_index, file_index in self.leaf_pairs(root):
            path_id, info2_index = struct.unpack(">II", self.block(info1_index)[:8])
            file_block = self.block(file_index)
            parent = struct.unpack(">I", file_block[:4])[0]
            name = file_block[4:].split(b"\0", 1)[0].decode("utf-8")
            names[path_id] = name if parent == 0 else names[parent] + "/" + name
            info2 = self.block(info2_index)
            kind, _one, _arch, mode, uid, gid, mtime, size, _one2, checksum, link_len = struct.unpack(">BBHHIIIIBII", info2[:31])
            rows.append({"path": names[path_id], "type": TYPES.get(kind, kind), "mode": mode, "uid": uid, "gid": gid,
                         "size": size, "checksum": checksum, "mtime": mtime})
        if len(rows) != path_count:
            raise SystemExit(f"Paths says {path_count} paths, the leaves hold {len(rows)}")
        return rows


def main():
    bom = Bom(open(sys.argv[1], "rb").read())
    for name in ("BomInfo", "Paths", "HLIndex", "VIndex", "Size64"):
        if name not in bom.vars:
            raise SystemExit(f"no {name} var")
    for row in bom.paths():
        print(json.dumps(row))


if __name__ == "__main__":
    main()
