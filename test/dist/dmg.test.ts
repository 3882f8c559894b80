// The macOS disk image read back by tools that did not write it: 7-Zip tests the UDIF (every chunk
// and checksum), dmg2img converts it to the raw volume, and 7-Zip's HFS+ reader lists and extracts
// that volume: the installer package, README, license and uninstaller, with their modes and the
// exact bytes of what the build shipped. And the checksums file covers the macOS downloads.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { hfsVolume } from '../../packaging/macos/hfs';
import { udzo } from '../../packaging/macos/udif';
import { dmgPath, volumeName } from '../../packaging/steps/dmg';
import { pkgPath } from '../../packaging/steps/pkg';
import { TARGETS } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, ROOT, sh, tempDir } from './helpers';

let ctx: Context;
let raw: string;

beforeAll(() => {
  ctx = ensureDist();
  raw = join(tempDir('dmg'), 'volume.img');
  ok('dmg2img', ['-s', '-i', dmgPath(ctx), '-o', raw], { timeoutMs: 300_000 });
}, DIST_TIMEOUT_MS);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** `7zz l -slt` rows: Path, Mode, Size, ... per entry. */
function listing(args: string[]): Array<Record<string, string>> {
  return ok('7zz', ['l', '-slt', ...args])
    .split(/\n\n+/)
    .map((block) =>
      Object.fromEntries(
        block
          .split('\n')
          .map((line) => /^(\w[\w ]*) = (.*)$/.exec(line))
          .filter((m) => m !== null)
          .map((m) => [m[1]!, m[2]!]),
      ),
    )
    .filter((row) => row.Path !== undefined && row.Mode !== undefined);
}

describe('the .dmg', () => {
  it('7-Zip tests it clean: every chunk inflates and every checksum matches', () => {
    const tested = sh('7zz', ['t', dmgPath(ctx)], { timeoutMs: 300_000 });
    expect(tested.status).toBe(0);
    expect(tested.stdout).toContain('Everything is Ok');
    expect(tested.stdout).not.toMatch(/warning|error/i);
    expect(ok('7zz', ['l', dmgPath(ctx)])).toMatch(/^Type = Dmg$/m);
  });

  it('dmg2img gives an HFS+ volume named "Sparkngin VERSION" holding the package, README, license and uninstaller', () => {
    const volume = volumeName(ctx);
    expect(volume).toBe(`Sparkngin ${ctx.version}`);
    expect(readFileSync(raw).subarray(1024, 1026).toString()).toBe('H+');
    const rows = listing(['-tHFS', raw]);
    expect(Object.fromEntries(rows.map((row) => [row.Path, row.Mode]))).toEqual({
      [volume]: 'drwxr-xr-x',
      [`${volume}/LICENSE.txt`]: '-rw-r--r--',
      [`${volume}/README.txt`]: '-rw-r--r--',
      [`${volume}/Sparkngin-${ctx.version}.pkg`]: '-rw-r--r--',
      [`${volume}/uninstall.sh`]: '-rwxr-xr-x',
    });
  });

  it("the volume's files are byte for byte what the build shipped", () => {
    const out = tempDir('hfsx');
    ok('7zz', ['x', '-tHFS', `-o${out}`, raw], { timeoutMs: 300_000 });
    const inVolume = (name: string) => sha256(readFileSync(join(out, volumeName(ctx), name)));
    expect(inVolume(`Sparkngin-${ctx.version}.pkg`)).toBe(sha256(readFileSync(pkgPath(ctx))));
    expect(inVolume('uninstall.sh')).toBe(sha256(readFileSync(join(ROOT, 'dmg/uninstall.sh'))));
    expect(inVolume('LICENSE.txt')).toBe(sha256(readFileSync(join(ROOT, 'packaging/assets/LICENSE'))));
    const readme = readFileSync(join(out, volumeName(ctx), 'README.txt'), 'utf8');
    expect(readme).toBe(readFileSync(join(ROOT, 'dmg/README.txt'), 'utf8').replaceAll('@VERSION@', ctx.version));
    expect(readme).not.toContain('@');
  });

  it('a run of zero sectors is stored as a zero block (type 0), and 7-Zip and dmg2img still read the image exactly', () => {
    // An HFS+ volume holding 2 MiB of zeros (whole zero chunks) beside data that does not compress.
    const dir = tempDir('udif');
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files/zeros.bin'), Buffer.alloc(2 << 20));
    writeFileSync(join(dir, 'files/random.bin'), randomBytes(1 << 20));
    const volume = hfsVolume(join(dir, 'files'), 'Zeros', dir, 0);
    writeFileSync(join(dir, 'test.dmg'), udzo(volume));
    // The blkx run types, read from the image's XML property list by Python's plistlib.
    const types = ok('python3', ['-c', BLKX_RUN_TYPES, join(dir, 'test.dmg')]).trim().split(' ').map(Number);
    expect(types).toContain(0);
    expect(types.at(-1)).toBe(0xffffffff);
    const tested = sh('7zz', ['t', join(dir, 'test.dmg')]);
    expect(tested.stdout).toContain('Everything is Ok');
    expect(tested.stdout).not.toMatch(/warning|error/i);
    ok('dmg2img', ['-s', '-i', join(dir, 'test.dmg'), '-o', join(dir, 'test.img')]);
    expect(readFileSync(join(dir, 'test.img')).equals(volume)).toBe(true);
    ok('7zz', ['x', '-tHFS', `-o${join(dir, 'x')}`, join(dir, 'test.img')]);
    expect(readFileSync(join(dir, 'x/Zeros/zeros.bin')).equals(Buffer.alloc(2 << 20))).toBe(true);
  });
});

/** Prints the run types of a UDIF's first blkx table: koly trailer → XML plist → mish. */
const BLKX_RUN_TYPES = `
import plistlib, struct, sys
data = open(sys.argv[1], "rb").read()
koly = data[-512:]
assert koly[:4] == b"koly"
xml_offset, xml_length = struct.unpack(">QQ", koly[216:232])
blkx = plistlib.loads(data[xml_offset:xml_offset + xml_length])["resource-fork"]["blkx"][0]["Data"]
assert blkx[:4] == b"mish"
count = struct.unpack(">I", blkx[200:204])[0]
print(" ".join(str(struct.unpack(">I", blkx[204 + 40 * i:208 + 40 * i])[0]) for i in range(count)))
`;

describe('SHA256SUMS', () => {
  it('lists the .dmg, the .pkg and the darwin executables, and sha256sum -c agrees', () => {
    const files = [dmgPath(ctx), pkgPath(ctx), ...TARGETS.filter((t) => t.os === 'darwin').map((t) => names.binary(ctx, t))].map((f) => f.slice(ctx.dist.length + 1));
    const lines = readFileSync(join(ctx.dist, 'SHA256SUMS'), 'utf8').split('\n');
    const ours = files.map((file) => lines.find((line) => line.endsWith(`  ${file}`)));
    expect(ours.every((line) => line && /^[0-9a-f]{64}  /.test(line)), ours.join('\n')).toBe(true);
    const list = join(tempDir('sums'), 'darwin.sums');
    writeFileSync(list, `${ours.join('\n')}\n`);
    expect(ok('sha256sum', ['-c', list], { cwd: ctx.dist })).toBe(files.map((file) => `${file}: OK\n`).join(''));
  });
});
