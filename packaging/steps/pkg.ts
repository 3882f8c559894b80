// Step 11, pkg: dist/Sparkngin-VERSION.pkg, a flat installer package for macOS 11+ on Intel and Apple
// silicon (one universal executable and addon, made of the signed darwin-x64 and darwin-arm64 ones),
// what the .dmg carries and what an MDM can deploy as is. Built on Linux without Apple's tools:
//
//   a xar archive (macos/xar.ts) of
//     Distribution             dmg/Distribution: title, welcome, license, conclusion, macOS 11+,
//                              startup disk only, x86_64 and arm64
//     Resources/               welcome.html, LICENSE.txt, conclusion.html
//     sparkngin.pkg/           the component package:
//       PackageInfo            dmg/PackageInfo: identifier org.sparkngin.sparkngin, version, scripts
//       Payload                gzip'd cpio (odc, GNU cpio) of the files below, owned by root:wheel
//       Scripts                gzip'd cpio of dmg/scripts/{preinstall,postinstall}
//       Bom                    every Payload path with mode, owner, size and checksum (macos/bom.ts)
//
//   Payload (installed at /):
//     usr/local/bin/sparkngin                          universal executable
//     usr/local/lib/sparkngin/zeromq.node              universal addon
//     usr/local/share/man/man8/sparkngin.8
//     usr/local/share/sparkngin/sparkngin.yaml.default the default config; postinstall installs it
//     usr/local/share/sparkngin/uninstall.sh           as /usr/local/etc/sparkngin/sparkngin.yaml
//     usr/local/share/sparkngin/nagios/sparkngin.cfg   Nagios object definitions (a sample)
//     usr/local/share/doc/sparkngin/{GUIDE.md,LICENSE}
//     Library/LaunchDaemons/org.sparkngin.sparkngin.plist
//
// The config, data and log directories are made by postinstall, never shipped in the Payload: so an
// upgrade cannot overwrite an edited config, and uninstalling keeps them.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, names } from '../context';
import { requireTools, run, runAsync } from '../exec';
import { type BomEntry, writeBom } from '../macos/bom';
import { universal } from '../macos/macho';
import { xarArchive } from '../macos/xar';
import { defaultConfig, nagiosConfig } from '../render';
import { settle, stager } from '../stage';
import type { Target } from '../targets';
import type { Step } from './step';

export const PKG_IDENTIFIER = 'org.sparkngin.sparkngin';
export const pkgPath = (ctx: Context) => join(ctx.dist, `Sparkngin-${ctx.version}.pkg`);

/** Installer's name for the architecture (Distribution's hostArchitectures). */
const installerArch = (target: Target) => ({ x64: 'x86_64', arm64: 'arm64' })[target.arch];

export const pkg: Step = {
  name: 'pkg',
  produces: 'dist/Sparkngin-VERSION.pkg (flat installer package, universal)',
  os: ['darwin'],
  async run(ctx) {
    requireTools('pkg', { cpio: 'cpio', cksum: 'coreutils' });
    const work = join(ctx.work, 'pkg');
    rmSync(work, { recursive: true, force: true });
    const epoch = Math.floor(ctx.date.getTime() / 1000);
    const fill = (text: string) =>
      text
        .replaceAll('@VERSION@', ctx.version)
        .replaceAll('@HOST_ARCHITECTURES@', ctx.targets.map(installerArch).join(','));

    const root = join(work, 'root');
    stagePayload(ctx, root);
    const entries = payloadEntries(root, epoch);
    const kbytes = Math.ceil(entries.reduce((sum, e) => sum + e.size, 0) / 1024);

    const product = join(work, 'product');
    const put = stager(product);
    const component = join(product, 'sparkngin.pkg');
    const dmg = (file: string) => readFileSync(join(ctx.root, 'dmg', file), 'utf8');
    put('Distribution', 0o644, fill(dmg('Distribution')).replace('@INSTALL_KBYTES@', String(kbytes)));
    put('Resources/welcome.html', 0o644, fill(dmg('welcome.html')));
    put('Resources/conclusion.html', 0o644, fill(dmg('conclusion.html')));
    put('Resources/LICENSE.txt', 0o644, { file: join(ctx.root, 'packaging/assets/LICENSE') });
    put('sparkngin.pkg/PackageInfo', 0o644, fill(dmg('PackageInfo')).replace('@FILES@', String(entries.length)).replace('@INSTALL_KBYTES@', String(kbytes)));
    put('sparkngin.pkg/Bom', 0o644, writeBom(entries));
    const scripts = join(work, 'scripts');
    const putScript = stager(scripts);
    for (const script of ['preinstall', 'postinstall']) putScript(script, 0o755, { file: join(ctx.root, 'dmg/scripts', script) });
    settle(scripts, epoch);
    await Promise.all([
      cpioGz(root, entries.map((e) => e.path), join(component, 'Payload')),
      cpioGz(scripts, ['.', './postinstall', './preinstall'], join(component, 'Scripts')),
    ]);
    settle(product, epoch);
    writeFileSync(pkgPath(ctx), xarArchive(product, ['Distribution', 'Resources', 'sparkngin.pkg'], ctx.date));
    rmSync(work, { recursive: true, force: true });
    ctx.log(`pkg: ${pkgPath(ctx)} (${entries.length} paths, ${kbytes} KiB installed)`);
  },
};

function stagePayload(ctx: Context, root: string): void {
  const put = stager(root);
  const darwin = (file: (target: Target) => string) => universal(ctx.targets.map((target) => readFileSync(file(target))));
  put('usr/local/bin/sparkngin', 0o755, darwin((target) => names.binary(ctx, target)));
  const addonNames = readdirSync(names.addons(ctx, ctx.targets[0]!)).sort();
  for (const addon of addonNames) put(`usr/local/lib/sparkngin/${addon}`, 0o755, darwin((target) => join(names.addons(ctx, target), addon)));
  put('usr/local/share/man/man8/sparkngin.8', 0o644, { file: names.manPage(ctx) });
  put('usr/local/share/sparkngin/sparkngin.yaml.default', 0o644, defaultConfig(ctx.root, 'macos'));
  put('usr/local/share/sparkngin/uninstall.sh', 0o755, { file: join(ctx.root, 'dmg/uninstall.sh') });
  put('usr/local/share/sparkngin/nagios/sparkngin.cfg', 0o644, nagiosConfig(ctx.root, '/usr/local/bin', '/usr/local/share/sparkngin/nagios/sparkngin.cfg'));
  put('usr/local/share/doc/sparkngin/GUIDE.md', 0o644, { file: join(ctx.root, 'docs/guide.md') });
  put('usr/local/share/doc/sparkngin/LICENSE', 0o644, { file: join(ctx.root, 'packaging/assets/LICENSE') });
  put('Library/LaunchDaemons/org.sparkngin.sparkngin.plist', 0o644, { file: join(ctx.root, 'dmg/org.sparkngin.sparkngin.plist') });
}

/**
 * Every path under `root` as the Payload and the Bom list it: ".", then "./a", "./a/b", ...
 * (directories 0755, times the release date).
 */
function payloadEntries(root: string, epoch: number): BomEntry[] {
  settle(root, epoch);
  const paths: string[] = [];
  const walk = (rel: string) => {
    paths.push(rel);
    const full = join(root, rel);
    if (statSync(full).isDirectory()) for (const name of readdirSync(full).sort()) walk(`${rel}/${name}`);
  };
  walk('.');
  const files = paths.filter((path) => statSync(join(root, path)).isFile());
  // POSIX cksum CRCs, what a Bom records: coreutils' cksum prints "CRC SIZE NAME" per file.
  const crcs = new Map(
    run('cksum', files, { cwd: root })
      .trim()
      .split('\n')
      .map((line) => {
        const [crc, , name] = line.split(' ');
        return [name!, Number(crc)] as const;
      }),
  );
  return paths.map((path) => {
    const stat = statSync(join(root, path));
    const file = stat.isFile();
    return { path, type: file ? 'file' : 'dir', mode: stat.mode & 0o7777, uid: 0, gid: 0, mtime: epoch, size: file ? stat.size : 0, checksum: file ? crcs.get(path)! : 0 };
  });
}

/** `paths` under `dir` as a gzip'd cpio archive (odc, owned by 0:0, as Installer expects) at `out`. */
async function cpioGz(dir: string, paths: readonly string[], out: string): Promise<void> {
  const list = `${out}.list`;
  writeFileSync(list, `${paths.join('\n')}\n`);
  await runAsync('sh', ['-c', 'cd "$1" && cpio -o --quiet -H odc --reproducible -R 0:0 <"$2" | gzip -n -6 >"$3"', 'sh', dir, list, out]);
  rmSync(list);
}
