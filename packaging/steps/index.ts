// The release, as an ordered list of steps. Each does one job and reads only what the steps before
// it wrote; `npm run dist -- --only rpm,repo` reruns a tail of the list against an existing dist/.
import { aptRepo } from './apt-repo';
import { binary } from './binary';
import { bundle } from './bundle';
import { checksums } from './checksums';
import { deb } from './deb';
import { man } from './man';
import { repo } from './repo';
import { rpm } from './rpm';
import { type Step, UnknownStepError } from './step';
import { tarball } from './tarball';

export const STEPS: readonly Step[] = [
  bundle, // src/ → build/sparkngin.cjs
  binary, // + pinned Node per target → dist/bin/sparkngin-<target>
  man, // man/sparkngin.8.md → dist/man/sparkngin.8
  tarball, // binary + man + config + unit + install.sh → dist/*.tar.gz
  rpm, // tarball + rpm/sparkngin.spec → dist/rpm/*.rpm (el8, el9)
  repo, // RPMs → dist/repo/ signed yum repository + setup.sh
  deb, // tarball + deb/ → dist/deb/*.deb
  aptRepo, // debs → dist/apt/ signed apt repository
  checksums, // → dist/SHA256SUMS
];

export function stepsNamed(names: readonly string[]): Step[] {
  return names.map((name) => {
    const step = STEPS.find((s) => s.name === name);
    if (!step) throw new UnknownStepError(name, STEPS.map((s) => s.name));
    return step;
  });
}
