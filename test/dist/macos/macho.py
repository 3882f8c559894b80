#!/usr/bin/env python3
"""Describes Mach-O files and checks their code signatures, for the tests (apart from the signer).

For each slice of a thin or universal Mach-O it prints, as one JSON document: the CPU type, the
segments and sections, and the code signature: the CodeDirectory's identifier, flags, hash type and
page size, and whether every page hash (and every special slot this checker knows: the requirements
and entitlements blobs) matches the bytes of the file.

Layouts (Apple's <mach-o/loader.h>, <mach-o/fat.h> and the kernel's cs_blobs.h): the fat header and
the signature blobs are big-endian, the Mach-O header and load commands little-endian.

usage: macho.py FILE
"""
import hashlib
import json
import struct
import sys

LC_SEGMENT_64 = 0x19
LC_CODE_SIGNATURE = 0x1D
CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CSSLOT_CODEDIRECTORY = 0
CSSLOT_REQUIREMENTS = 2
CSSLOT_ENTITLEMENTS = 5
CSSLOT_DER_ENTITLEMENTS = 7
HASHES = {1: hashlib.sha1, 2: hashlib.sha256}


def slices(data):
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 0xCAFEBABE:
        count = struct.unpack(">I", data[4:8])[0]
        out = []
        for i in range(count):
            cputype, subtype, offset, size, align = struct.unpack(">iiIII", data[8 + 20 * i:28 + 20 * i])
            if offset % (1 << align):
                raise SystemExit(f"slice {i} at {offset} is not aligned to 2^{align}")
            out.append({"fat": {"cputype": cputype, "cpusubtype": subtype, "offset": offset, "size": size, "align": align},
                        "data": data[offset:offset + size]})
        return out
    return [{"fat": None, "data": data}]


def describe(data):
    magic, cputype, subtype, filetype, ncmds, sizeofcmds = struct.unpack("<IiiIII", data[:24])
    if magic != 0xFEEDFACF:
        raise SystemExit("not a 64-bit little-endian Mach-O")
    out = {"cputype": cputype, "cpusubtype": subtype, "filetype": filetype, "segments": [], "signature": None}
    at = 32
    signature = None
    for _ in range(ncmds):
        cmd, size = struct.unpack("<II", data[at:at + 8])
        if cmd == LC_SEGMENT_64:
            name = data[at + 8:at + 24].rstrip(b"\0").decode()
            vmaddr, vmsize, fileoff, filesize = struct.unpack("<QQQQ", data[at + 24:at + 56])
            nsects = struct.unpack("<I", data[at + 64:at + 68])[0]
            sections = []
            for s in range(nsects):
                base = at + 72 + 80 * s
                sect = data[base:base + 16].rstrip(b"\0").decode()
                addr, ssize, offset = struct.unpack("<QQI", data[base + 32:base + 52])
                sections.append({"name": sect, "size": ssize, "offset": offset})
            out["segments"].append({"name": name, "fileoff": fileoff, "filesize": filesize, "sections": sections})
        elif cmd == LC_CODE_SIGNATURE:
            signature = struct.unpack("<II", data[at + 8:at + 16])
        at += size
    if at - 32 != sizeofcmds:
        raise SystemExit(f"load commands take {at - 32} bytes, the header says {sizeofcmds}")
    if signature:
        out["signature"] = check_signature(data, *signature, out["segments"])
    return out


def check_signature(data, dataoff, datasize, segments):
    blob = data[dataoff:dataoff + datasize]
    magic, length, count = struct.unpack(">III", blob[:12])
    if magic != CSMAGIC_EMBEDDED_SIGNATURE:
        raise SystemExit(f"signature magic {magic:#x}")
    index = dict(struct.unpack(">II", blob[12 + 8 * i:20 + 8 * i]) for i in range(count))
    if CSSLOT_CODEDIRECTORY not in index:
        raise SystemExit("no CodeDirectory")

    def sub(slot):
        off = index[slot]
        size = struct.unpack(">I", blob[off + 4:off + 8])[0]
        return blob[off:off + size]

    cd = sub(CSSLOT_CODEDIRECTORY)
    (magic, length, version, flags, hash_offset, ident_offset, n_special, n_code, code_limit,
     hash_size, hash_type, platform, page_log2) = struct.unpack(">IIIIIIIIIBBBB", cd[:40])
    if magic != CSMAGIC_CODEDIRECTORY:
        raise SystemExit(f"CodeDirectory magic {magic:#x}")
    page = 1 << page_log2
    algo = HASHES[hash_type]

    def slot_hash(n):
        at = hash_offset + n * hash_size
        return cd[at:at + hash_size]

    bad_pages = [i for i in range(n_code)
                 if algo(data[i * page:min((i + 1) * page, code_limit)]).digest()[:hash_size] != slot_hash(i)]
    specials = {}
    for slot, name in ((CSSLOT_REQUIREMENTS, "requirements"), (CSSLOT_ENTITLEMENTS, "entitlements"),
                       (CSSLOT_DER_ENTITLEMENTS, "der-entitlements")):
        if slot in index and slot <= n_special:
            specials[name] = algo(sub(slot)).digest()[:hash_size] == slot_hash(-slot)
    linkedit = next(s for s in segments if s["name"] == "__LINKEDIT")
    text = next(s for s in segments if s["name"] == "__TEXT")
    exec_seg = None
    if version >= 0x20400:
        base, limit, seg_flags = struct.unpack(">QQQ", cd[64:88])
        exec_seg = {"base": base, "limit": limit, "flags": seg_flags, "matchesText": base == text["fileoff"] and limit == text["filesize"]}
    return {
        "identifier": cd[ident_offset:].split(b"\0", 1)[0].decode(),
        "version": version,
        "flags": flags,
        "adhoc": bool(flags & 0x2),
        "hashType": hash_type,
        "hashSize": hash_size,
        "pageSize": page,
        "codeLimit": code_limit,
        "codeLimitIsSignatureOffset": code_limit == dataoff,
        "codeSlots": n_code,
        "slotsCoverCode": n_code == (code_limit + page - 1) // page,
        "badPages": bad_pages,
        "specialSlots": specials,
        "execSeg": exec_seg,
        "blobs": sorted(index),
        "insideLinkedit": linkedit["fileoff"] <= dataoff and dataoff + datasize <= linkedit["fileoff"] + linkedit["filesize"],
        "atEndOfFile": dataoff + datasize <= len(data) and len(data) - (dataoff + datasize) < 16,
    }


def main():
    data = open(sys.argv[1], "rb").read()
    out = []
    for s in slices(data):
        info = describe(s["data"])
        info["fat"] = s["fat"]
        out.append(info)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
