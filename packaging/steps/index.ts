// The release, as an ordered list of steps. Each does one job and reads only what the steps before
// it wrote; `npm run dist -- --only rpm,repo` reruns a tail of the list against an existing dist/.
import { addons } from './addons';
import { aptRepo } from './apt-repo';
import { binary } from './binary';
import { bundle } from './bundle';
import { checksums } from './checksums';
import { codesign } from './codesign';
import { deb } from './deb';
import { dmg } from './dmg';
import { man } from './man';
import { pkg } from './pkg';
import { repo } from './repo';
import { rpm } from './rpm';
import { type Step, UnknownStepError } from './step';
import { tarball } from './tarball';

export const STEPS: readonly Step[] = [
  bundle, // src/ → build/sparkngin.cjs
  binary, // + pinned Node per target → dist/bin/sparkngin-<target>  (linux, darwin)
  addons, // zeromq's prebuilt addons → dist/lib/<target>/  (linux, darwin)
  codesign, // ad-hoc signatures on the darwin executables and addons  (darwin)
  man, // man/sparkngin.8.md → dist/man/sparkngin.8
  tarball, // binary + man + config + unit + install.sh → dist/*.tar.gz  (linux)
  rpm, // tarball + rpm/sparkngin.spec → dist/rpm/*.rpm (el8, el9)  (linux)
  repo, // RPMs → dist/repo/ signed yum repository + setup.sh  (linux)
  deb, // tarball + deb/ → dist/deb/*.deb  (linux)
  aptRepo, // debs → dist/apt/ signed apt repository  (linux)
  pkg, // universal executable + addons + man + config + dmg/ → dist/Sparkngin-VERSION.pkg  (darwin)
  dmg, // pkg + README + uninstaller → dist/Sparkngin-VERSION.dmg  (darwin)
  checksums, // → dist/SHA256SUMS
];

export function stepsNamed(names: readonly string[]): Step[] {
  return names.map((name) => {
    const step = STEPS.find((s) => s.name === name);
    if (!step) throw new UnknownStepError(name, STEPS.map((s) => s.name));
    return step;
  });
}
