// The macOS disk image read back by tools that did not write it: 7-Zip tests the UDIF (every chunk
// and checksum), dmg2img converts it to the raw volume, and 7-Zip's HFS+ reader lists and extracts
// that volume: the installer package, README, license and uninstaller, with their modes and the
// exact bytes of what the build shipped. And the checksums file covers the macOS downloads.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
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

  it('a run of zero sectors is stored as a zero block, and 7-Zip and dmg2img still read the image exactly', () => {
    // 3.5 MiB: data, a MiB of zeros, data that does not compress, half a MiB of text.
    const volume = Buffer.concat([Buffer.alloc(1 << 20, 'sparkngin '), Buffer.alloc(1 << 20), randomBytes(1 << 20), Buffer.alloc(1 << 19, 'x')]);
    const dir = tempDir('udif');
    writeFileSync(join(dir, 'test.dmg'), udzo(volume));
    const tested = sh('7zz', ['t', join(dir, 'test.dmg')]);
    expect(tested.stdout).toContain('Everything is Ok');
    expect(tested.stdout).not.toMatch(/warning|error/i);
    ok('dmg2img', ['-s', '-i', join(dir, 'test.dmg'), '-o', join(dir, 'test.img')]);
    expect(readFileSync(join(dir, 'test.img')).equals(volume)).toBe(true);
    ok('7zz', ['e', `-o${join(dir, 'x')}`, join(dir, 'test.dmg')]);
    const [partition] = ok('ls', [join(dir, 'x')]).trim().split('\n');
    expect(readFileSync(join(dir, 'x', partition!)).equals(volume)).toBe(true);
  });
});

describe('SHA256SUMS', () => {
  it('lists the .dmg, the .pkg and the darwin executables with their digests', () => {
    const sums = readFileSync(join(ctx.dist, 'SHA256SUMS'), 'utf8');
    const files = [dmgPath(ctx), pkgPath(ctx), ...TARGETS.filter((t) => t.os === 'darwin').map((t) => names.binary(ctx, t))];
    for (const file of files) {
      expect(sums).toContain(`${sha256(readFileSync(file))}  ${file.slice(ctx.dist.length + 1)}\n`);
    }
    expect(ok('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: ctx.dist })).toBe('');
  });
});
