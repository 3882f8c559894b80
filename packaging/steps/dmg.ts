// Step 12, dmg: dist/Sparkngin-VERSION.dmg, what a Mac user downloads: a compressed (UDZO) disk image
// whose HFS+ volume "Sparkngin VERSION" holds the installer package, a README, the license and the
// uninstaller. The HFS+ volume comes from xorriso (macos/hfs.ts), the UDIF container around it from
// macos/udif.ts.
//
// No background picture or icon layout: those live in the volume's .DS_Store, whose background
// entry is a Finder alias record that no maintained tool writes off a Mac; Finder shows the four
// files in its default view.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context';
import { requireTools } from '../exec';
import { hfsVolume } from '../macos/hfs';
import { udzo } from '../macos/udif';
import { settle, stager } from '../stage';
import { pkgPath } from './pkg';
import type { Step } from './step';

export const dmgPath = (ctx: Context) => join(ctx.dist, `Sparkngin-${ctx.version}.dmg`);
export const volumeName = (ctx: Context) => `Sparkngin ${ctx.version}`;

export const dmg: Step = {
  name: 'dmg',
  produces: 'dist/Sparkngin-VERSION.dmg (UDZO, HFS+)',
  os: ['darwin'],
  run(ctx) {
    requireTools('dmg', { xorriso: 'xorriso' });
    const work = join(ctx.work, 'dmg');
    rmSync(work, { recursive: true, force: true });
    const volume = join(work, 'volume');
    const put = stager(volume);
    put(`Sparkngin-${ctx.version}.pkg`, 0o644, { file: pkgPath(ctx) });
    put('README.txt', 0o644, readFileSync(join(ctx.root, 'dmg/README.txt'), 'utf8').replaceAll('@VERSION@', ctx.version));
    put('LICENSE.txt', 0o644, { file: join(ctx.root, 'packaging/assets/LICENSE') });
    put('uninstall.sh', 0o755, { file: join(ctx.root, 'dmg/uninstall.sh') });
    const epoch = Math.floor(ctx.date.getTime() / 1000);
    settle(volume, epoch);
    const hfs = hfsVolume(volume, volumeName(ctx), work, epoch);
    writeFileSync(dmgPath(ctx), udzo(hfs));
    rmSync(work, { recursive: true, force: true });
    ctx.log(`dmg: ${dmgPath(ctx)} (volume "${volumeName(ctx)}", ${(hfs.length / 1048576).toFixed(1)} MiB)`);
  },
};
