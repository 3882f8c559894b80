// The macOS installer package read back by tools that did not write it: bsdtar and 7-Zip read the
// xar; xmllint the Distribution and PackageInfo; gzip and GNU cpio the Payload and Scripts;
// test/dist/macos/bom.py (written apart from packaging/macos/bom.ts) the Bom; plistutil and Python's
// plistlib the LaunchDaemon. The install scripts run against the unpacked Payload in a scratch root,
// with launchctl, dscl and pkgutil stood in for (test/dist/fixtures/macos-stubs): first install,
// upgrade keeping an edited config, uninstall.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Context, names } from '../../packaging/context';
import { renderConfig } from '../../packaging/render';
import { pkgPath } from '../../packaging/steps/pkg';
import { targetByName, TARGETS } from '../../packaging/targets';
import { DIST_TIMEOUT_MS, ensureDist, ok, ROOT, sh, tempDir } from './helpers';
import { bomRows, cpioListing, machO, type UnpackedPkg, unpackPkg } from './macos/read';

/** What the Payload must hold, exactly: path → mode as `cpio -tv` prints it. */
const PAYLOAD: Record<string, string> = {
  '.': 'drwxr-xr-x',
  Library: 'drwxr-xr-x',
  'Library/LaunchDaemons': 'drwxr-xr-x',
  'Library/LaunchDaemons/org.sparkngin.sparkngin.plist': '-rw-r--r--',
  usr: 'drwxr-xr-x',
  'usr/local': 'drwxr-xr-x',
  'usr/local/bin': 'drwxr-xr-x',
  'usr/local/bin/sparkngin': '-rwxr-xr-x',
  'usr/local/lib': 'drwxr-xr-x',
  'usr/local/lib/sparkngin': 'drwxr-xr-x',
  'usr/local/lib/sparkngin/zeromq.node': '-rwxr-xr-x',
  'usr/local/share': 'drwxr-xr-x',
  'usr/local/share/doc': 'drwxr-xr-x',
  'usr/local/share/doc/sparkngin': 'drwxr-xr-x',
  'usr/local/share/doc/sparkngin/GUIDE.md': '-rw-r--r--',
  'usr/local/share/doc/sparkngin/LICENSE': '-rw-r--r--',
  'usr/local/share/man': 'drwxr-xr-x',
  'usr/local/share/man/man8': 'drwxr-xr-x',
  'usr/local/share/man/man8/sparkngin.8': '-rw-r--r--',
  'usr/local/share/sparkngin': 'drwxr-xr-x',
  'usr/local/share/sparkngin/nagios': 'drwxr-xr-x',
  'usr/local/share/sparkngin/nagios/sparkngin.cfg': '-rw-r--r--',
  'usr/local/share/sparkngin/sparkngin.yaml.default': '-rw-r--r--',
  'usr/local/share/sparkngin/uninstall.sh': '-rwxr-xr-x',
};
const XAR_ENTRIES = [
  'Distribution',
  'Resources',
  'Resources/LICENSE.txt',
  'Resources/conclusion.html',
  'Resources/welcome.html',
  'sparkngin.pkg',
  'sparkngin.pkg/Bom',
  'sparkngin.pkg/PackageInfo',
  'sparkngin.pkg/Payload',
  'sparkngin.pkg/Scripts',
];
const LABEL = 'org.sparkngin.sparkngin';
const STUBS = join(ROOT, 'test/dist/fixtures/macos-stubs');

let ctx: Context;
let pkg: UnpackedPkg;

beforeAll(() => {
  ctx = ensureDist();
  pkg = unpackPkg(pkgPath(ctx));
}, DIST_TIMEOUT_MS);

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const xpath = (file: string, expr: string) => ok('xmllint', ['--xpath', expr, file]).trim();
const macosConfig = () => renderConfig(readFileSync(join(ROOT, 'packaging/assets/sparkngin.yaml'), 'utf8'), 'macos');

describe('the .pkg archive', () => {
  it('is a xar that bsdtar and 7-Zip both read, whole and clean', () => {
    const file = pkgPath(ctx);
    expect(ok('bsdtar', ['-tf', file]).trim().split('\n').sort()).toEqual(XAR_ENTRIES);
    const listing = ok('7zz', ['l', '-slt', '-txar', file]);
    const paths = [...listing.matchAll(/^Path = (.+)$/gm)].map((m) => m[1]!).filter((p) => p !== file && p !== '[TOC].xml');
    expect(paths.sort()).toEqual(XAR_ENTRIES);
    const tested = sh('7zz', ['t', '-txar', file]);
    expect(tested.status).toBe(0);
    expect(tested.stdout).toContain('Everything is Ok');
    expect(tested.stdout).not.toMatch(/warning|error/i);
    // 7-Zip's copy of the Payload is bsdtar's.
    const other = tempDir('7zx');
    ok('7zz', ['x', '-txar', `-o${other}`, file, 'sparkngin.pkg/Payload']);
    expect(sha256(join(other, 'sparkngin.pkg/Payload'))).toBe(sha256(join(pkg.xar, 'sparkngin.pkg/Payload')));
  });

  it('Distribution and PackageInfo are well-formed XML with what macOS Installer needs', () => {
    const distribution = join(pkg.xar, 'Distribution');
    const info = join(pkg.xar, 'sparkngin.pkg/PackageInfo');
    ok('xmllint', ['--noout', distribution, info]);
    const d = (expr: string) => xpath(distribution, expr);
    const p = (expr: string) => xpath(info, expr);
    expect(d('string(/installer-gui-script/@minSpecVersion)')).toBe('2');
    expect(d('string(/installer-gui-script/title)')).toBe(`Sparkngin ${ctx.version}`);
    for (const page of ['welcome', 'license', 'conclusion']) {
      expect(existsSync(join(pkg.xar, 'Resources', d(`string(/installer-gui-script/${page}/@file)`))), page).toBe(true);
    }
    expect(d('string(/installer-gui-script/options/@hostArchitectures)')).toBe('x86_64,arm64');
    expect(d('string(/installer-gui-script/domains/@enable_localSystem)')).toBe('true');
    expect(d('string(/installer-gui-script/volume-check/allowed-os-versions/os-version/@min)')).toBe('11.0');
    // Every choice the outline names exists; the package reference points at the component.
    const outlined = d('/installer-gui-script/choices-outline//line/@choice').match(/choice="[^"]+"/g)!.map((a) => a.slice(8, -1));
    for (const choice of outlined) expect(d(`count(/installer-gui-script/choice[@id="${choice}"])`)).toBe('1');
    expect(d('string(/installer-gui-script/pkg-ref[text()="#sparkngin.pkg"]/@id)')).toBe(LABEL);
    expect(d('string(/installer-gui-script/pkg-ref[text()="#sparkngin.pkg"]/@version)')).toBe(ctx.version);
    expect(d(`count(/installer-gui-script/choice[@id="${LABEL}"]/pkg-ref[@id="${LABEL}"])`)).toBe('1');

    expect(p('string(/pkg-info/@format-version)')).toBe('2');
    expect(p('string(/pkg-info/@identifier)')).toBe(LABEL);
    expect(p('string(/pkg-info/@version)')).toBe(ctx.version);
    expect(p('string(/pkg-info/@install-location)')).toBe('/');
    expect(p('string(/pkg-info/@auth)')).toBe('root');
    expect(Number(p('string(/pkg-info/payload/@numberOfFiles)'))).toBe(Object.keys(PAYLOAD).length);
    const bytes = cpioListing(join(pkg.xar, 'sparkngin.pkg/Payload')).reduce((sum, row) => sum + row.size, 0);
    expect(Number(p('string(/pkg-info/payload/@installKBytes)'))).toBe(Math.ceil(bytes / 1024));
    expect(d('string(/installer-gui-script/pkg-ref[text()="#sparkngin.pkg"]/@installKBytes)')).toBe(p('string(/pkg-info/payload/@installKBytes)'));
    for (const script of ['preinstall', 'postinstall']) {
      const file = p(`string(/pkg-info/scripts/${script}/@file)`);
      expect(file).toBe(`./${script}`);
      expect(statSync(join(pkg.scripts, file)).mode & 0o777).toBe(0o755);
    }
  });
});

describe('the Payload', () => {
  it('unpacks with cpio to exactly the intended tree, owned by root:wheel', () => {
    const rows = cpioListing(join(pkg.xar, 'sparkngin.pkg/Payload'));
    expect(Object.fromEntries(rows.map((row) => [row.path, row.mode]))).toEqual(PAYLOAD);
    expect(rows.every((row) => row.uid === 0 && row.gid === 0)).toBe(true);
    expect(ok('cpio', ['--version']).split('\n')[0]).toContain('GNU cpio');
  });

  it('holds the shipped files unchanged, the executable and the addon universal (both signed slices)', () => {
    const at = (path: string) => join(pkg.payload, path);
    expect(sha256(at('usr/local/share/doc/sparkngin/GUIDE.md'))).toBe(sha256(join(ROOT, 'docs/guide.md')));
    expect(sha256(at('usr/local/share/doc/sparkngin/LICENSE'))).toBe(sha256(join(ROOT, 'packaging/assets/LICENSE')));
    expect(sha256(at('usr/local/share/man/man8/sparkngin.8'))).toBe(sha256(names.manPage(ctx)));
    expect(sha256(at(`Library/LaunchDaemons/${LABEL}.plist`))).toBe(sha256(join(ROOT, `dmg/${LABEL}.plist`)));
    expect(sha256(at('usr/local/share/sparkngin/uninstall.sh'))).toBe(sha256(join(ROOT, 'dmg/uninstall.sh')));
    expect(readFileSync(at('usr/local/share/sparkngin/sparkngin.yaml.default'), 'utf8')).toBe(macosConfig());

    const darwin = TARGETS.filter((target) => target.os === 'darwin');
    for (const [path, original] of [
      ['usr/local/bin/sparkngin', (t: (typeof darwin)[number]) => names.binary(ctx, t)],
      ['usr/local/lib/sparkngin/zeromq.node', (t: (typeof darwin)[number]) => join(names.addons(ctx, t), 'zeromq.node')],
    ] as const) {
      const bytes = readFileSync(at(path));
      const slices = machO(at(path));
      expect(slices.map((s) => s.fat?.cputype)).toEqual([0x01000007, 0x0100000c]);
      slices.forEach((slice, i) => {
        const copy = bytes.subarray(slice.fat!.offset, slice.fat!.offset + slice.fat!.size);
        expect(copy.equals(readFileSync(original(darwin[i]!))), `${path} slice ${i}`).toBe(true);
        expect(slice.signature?.badPages).toEqual([]);
      });
    }
    const described = ok('file', ['-b', at('usr/local/bin/sparkngin')]);
    expect(described).toMatch(/^Mach-O universal binary with 2 architectures: \[x86_64:/);
    expect(described).toContain('arm64');
  });

  it('the default config is valid, keeps its data in /usr/local/var/sparkngin and listens on loopback', () => {
    const config = join(pkg.payload, 'usr/local/share/sparkngin/sparkngin.yaml.default');
    const linux = names.binary(ctx, targetByName('linux-x64'));
    expect(ok(linux, ['config', 'check', config])).toContain('OK');
    const shown = JSON.parse(ok(linux, ['config', 'show', '--config', config])) as { dataDir: string; listen: { host: string } };
    expect(shown).toMatchObject({ dataDir: '/usr/local/var/sparkngin', listen: { host: '127.0.0.1' } });
  });

  it('the Bom (read by bom.py) lists exactly the Payload paths with their modes, owners, sizes and cksum CRCs', () => {
    const rows = bomRows(join(pkg.xar, 'sparkngin.pkg/Bom'));
    expect(rows.map((row) => row.path.replace(/^\.\//, '')).sort()).toEqual(Object.keys(PAYLOAD).sort());
    const epoch = Math.floor(ctx.date.getTime() / 1000);
    for (const row of rows) {
      const file = join(pkg.payload, row.path);
      const stat = statSync(file);
      expect([row.type, row.mode, row.uid, row.gid, row.mtime], row.path).toEqual([stat.isDirectory() ? 'dir' : 'file', stat.mode & 0o177777, 0, 0, epoch]);
      if (row.type === 'file') {
        const [crc, size] = ok('cksum', [file]).split(' ');
        expect([row.size, row.checksum], row.path).toEqual([Number(size), Number(crc)]);
      }
    }
  });

  it('the LaunchDaemon survives a plistutil round trip (XML, binary, XML) and says what launchd needs', () => {
    const dir = tempDir('plist');
    const plist = join(pkg.payload, `Library/LaunchDaemons/${LABEL}.plist`);
    ok('plistutil', ['-i', plist, '-o', join(dir, 'binary.plist'), '-f', 'bin']);
    expect(readFileSync(join(dir, 'binary.plist')).subarray(0, 8).toString()).toBe('bplist00');
    ok('plistutil', ['-i', join(dir, 'binary.plist'), '-o', join(dir, 'again.plist'), '-f', 'xml']);
    const load = (file: string) => JSON.parse(ok('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file])) as Record<string, unknown>;
    const original = load(plist);
    expect(load(join(dir, 'again.plist'))).toEqual(original);
    expect(load(join(dir, 'binary.plist'))).toEqual(original);
    expect(original).toMatchObject({
      Label: LABEL,
      ProgramArguments: ['/usr/local/bin/sparkngin', 'start', '--config', '/usr/local/etc/sparkngin/sparkngin.yaml'],
      UserName: '_sparkngin',
      GroupName: '_sparkngin',
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      WorkingDirectory: '/usr/local/var/sparkngin',
      // The daemon writes and rotates the log itself; launchd's file takes what comes before that.
      EnvironmentVariables: { SPARKNGIN_LOG_FILE: '/usr/local/var/log/sparkngin/sparkngin.log' },
      StandardErrorPath: '/usr/local/var/log/sparkngin/stderr.log',
    });
  });

  it('the scripts and the uninstaller pass sh -n (dash) and bash -n', () => {
    for (const script of [join(pkg.scripts, 'preinstall'), join(pkg.scripts, 'postinstall'), join(pkg.payload, 'usr/local/share/sparkngin/uninstall.sh')]) {
      expect(readFileSync(script, 'utf8').startsWith('#!/bin/sh\n'), script).toBe(true);
      ok('sh', ['-n', script]);
      ok('bash', ['-n', script]);
    }
  });
});

/** A scratch root, the stand-ins on PATH, and how Installer runs the package's parts against it. */
function macRoot(takenIds: number[] = []) {
  const root = tempDir('macroot');
  const state = tempDir('stubstate');
  mkdirSync(join(state, 'dscl'));
  // Accounts that already hold ids the user must not take.
  takenIds.forEach((id, i) => writeFileSync(join(state, 'dscl', `%Users%taken${i}`), `UniqueID: ${id}\nPrimaryGroupID: 20\n`));
  const env = { ...process.env, PATH: `${STUBS}:${process.env.PATH}`, STUB_STATE: state };
  const script = (dir: string, name: string) => ok('sh', [join(dir, name), pkgPath(ctx), '/', root, '/'], { env });
  return {
    root,
    env,
    calls: () => (existsSync(join(state, 'calls')) ? readFileSync(join(state, 'calls'), 'utf8') : ''),
    loaded: () => existsSync(join(state, 'loaded')),
    user: () => readFileSync(join(state, 'dscl', '%Users%_sparkngin'), 'utf8'),
    /** preinstall, the payload laid down (as Installer does: files replaced, others left), postinstall. */
    install(payload: string, scripts = pkg.scripts): string {
      const pre = script(scripts, 'preinstall');
      ok('cp', ['-a', `${payload}/.`, root]);
      return pre + script(scripts, 'postinstall');
    },
    read: (path: string) => readFileSync(join(root, path), 'utf8'),
    stat: (path: string) => statSync(join(root, path)),
  };
}

const CONFIG = 'usr/local/etc/sparkngin/sparkngin.yaml';

describe('install scripts (on the unpacked Payload, with launchd and the directory service stood in for)', () => {
  it('first install: the _sparkngin user on a free id below 500, config from the default, directories owned by it, daemon loaded', () => {
    const mac = macRoot([300, 301]);
    const out = mac.install(pkg.payload);
    expect(out).toContain('created the _sparkngin user and group (302)');
    expect(mac.user()).toMatch(/^UniqueID: 302$/m);
    expect(mac.user()).toMatch(/^UserShell: \/usr\/bin\/false$/m);
    expect(mac.user()).toMatch(/^IsHidden: 1$/m);
    expect(mac.read(CONFIG)).toBe(macosConfig());
    expect([mac.stat(CONFIG).uid, mac.stat(CONFIG).gid, mac.stat(CONFIG).mode & 0o777]).toEqual([0, 302, 0o640]);
    expect([mac.stat('usr/local/etc/sparkngin').gid, mac.stat('usr/local/etc/sparkngin').mode & 0o777]).toEqual([302, 0o750]);
    const data = mac.stat('usr/local/var/sparkngin');
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([302, 302, 0o750]);
    for (const name of ['sparkngin.log', 'stderr.log']) {
      const log = mac.stat(`usr/local/var/log/sparkngin/${name}`);
      expect([log.uid, log.gid, log.mode & 0o777], name).toEqual([302, 80, 0o640]);
    }
    expect(mac.calls()).toContain(`launchctl enable system/${LABEL}`);
    expect(mac.calls()).toContain(`launchctl bootstrap system ${mac.root}/Library/LaunchDaemons/${LABEL}.plist`);
    expect(mac.loaded()).toBe(true);
    // The same package again: nothing to say about the config, the user is not made twice, the
    // running daemon is stopped before the files are replaced and loaded again after.
    const again = mac.install(pkg.payload);
    expect(again).not.toMatch(/created|kept|updated/);
    expect(mac.calls().match(/dscl \. -create \/Users\/_sparkngin UniqueID/g)).toHaveLength(1);
    expect(mac.calls()).toMatch(new RegExp(`launchctl bootout system/${LABEL}\\n[\\s\\S]*launchctl bootstrap system`));
    expect(existsSync(join(mac.root, `${CONFIG}.new`))).toBe(false);
  });

  it('upgrade to a package with a new default: an edited config is kept (new default beside it), an unedited one is updated', () => {
    const next = tempDir('nextpayload');
    ok('cp', ['-a', `${pkg.payload}/.`, next]);
    const nextDefault = `${macosConfig()}# a setting documented in the next release\n`;
    writeFileSync(join(next, 'usr/local/share/sparkngin/sparkngin.yaml.default'), nextDefault);

    const edited = macRoot();
    edited.install(pkg.payload);
    const mine = edited.read(CONFIG).replace('port: 7080', 'port: 7999');
    writeFileSync(join(edited.root, CONFIG), mine);
    expect(edited.install(next)).toContain(`kept your edited ${edited.root}/${CONFIG}`);
    expect(edited.read(CONFIG)).toBe(mine);
    expect(edited.read(`${CONFIG}.new`)).toBe(nextDefault);
    // The payload never carries the config itself: laying the next one down cannot touch it.
    expect(existsSync(join(next, CONFIG))).toBe(false);

    const untouched = macRoot();
    untouched.install(pkg.payload);
    expect(untouched.install(next)).toContain('updated');
    expect(untouched.read(CONFIG)).toBe(nextDefault);
    expect(existsSync(join(untouched.root, `${CONFIG}.new`))).toBe(false);

    // Edited, and the next package's default is the same as before: kept, nothing beside it.
    const same = macRoot();
    same.install(pkg.payload);
    writeFileSync(join(same.root, CONFIG), mine);
    expect(same.install(pkg.payload)).not.toContain('kept');
    expect(same.read(CONFIG)).toBe(mine);
    expect(existsSync(join(same.root, `${CONFIG}.new`))).toBe(false);
  });

  it('uninstall.sh removes what the package installed and keeps config, data and user; --purge removes those too', () => {
    const mac = macRoot();
    mac.install(pkg.payload);
    const uninstall = join(mac.root, 'usr/local/share/sparkngin/uninstall.sh');
    const env = { ...mac.env, SPARKNGIN_ROOT: mac.root };
    expect(ok('sh', [uninstall], { env })).toContain('kept /usr/local/etc/sparkngin');
    expect(mac.loaded()).toBe(false);
    expect(mac.calls()).toContain(`pkgutil --forget ${LABEL}`);
    for (const path of Object.keys(PAYLOAD).filter((p) => PAYLOAD[p]!.startsWith('-'))) expect(existsSync(join(mac.root, path)), path).toBe(false);
    for (const path of [CONFIG, 'usr/local/var/sparkngin', 'usr/local/var/log/sparkngin/sparkngin.log']) expect(existsSync(join(mac.root, path)), path).toBe(true);
    expect(mac.user()).toContain('UniqueID');

    mac.install(pkg.payload);
    ok('sh', [uninstall, '--purge'], { env });
    for (const path of ['usr/local/etc/sparkngin', 'usr/local/var/sparkngin', 'usr/local/var/log/sparkngin']) expect(existsSync(join(mac.root, path)), path).toBe(false);
    expect(() => mac.user()).toThrow();
    expect(sh('sh', [join(pkg.payload, 'usr/local/share/sparkngin/uninstall.sh'), '--frob'], { env }).status).toBe(1);
  });
});
