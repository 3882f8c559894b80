// Step 4, codesign: an ad-hoc code signature (no identity: a CodeDirectory of SHA-256 page hashes)
// on each darwin executable and addon, in place. Apple silicon Macs refuse to run arm64 code that
// carries no signature at all, and postject dropped the one Node's binary had; Intel Macs run
// unsigned code, but get the same treatment. rcodesign writes the signatures (scripts/deps/rcodesign.sh
// builds it); the tests check every page hash with a reader of their own.
//
// Ad hoc, not Developer ID: Gatekeeper still asks before the first run of a downloaded executable
// (the .pkg installs it without that question). A Developer ID signature with the hardened runtime
// (and the JIT and library-validation entitlements Node needs) and notarization need Apple's
// certificates; see docs/guide.md (macOS).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { names } from '../context';
import { run } from '../exec';
import { rcodesign } from '../macos/rcodesign';
import type { Step } from './step';

/** The signing identifier of the executable (what `codesign -dv` shows as Identifier). */
const EXECUTABLE_IDENTIFIER = 'org.sparkngin.sparkngin';

export const codesign: Step = {
  name: 'codesign',
  produces: 'ad-hoc signatures on dist/bin/sparkngin-darwin-* and dist/lib/darwin-*/*.node',
  os: ['darwin'],
  run(ctx) {
    const tool = rcodesign(ctx);
    const sign = (file: string, identifier: string) => run(tool, ['sign', '--binary-identifier', identifier, file]);
    for (const target of ctx.targets) {
      sign(names.binary(ctx, target), EXECUTABLE_IDENTIFIER);
      const addons = names.addons(ctx, target);
      for (const addon of readdirSync(addons)) sign(join(addons, addon), `org.sparkngin.${addon.replace(/\.node$/, '')}`);
      ctx.log(`codesign ${target.name}: executable and ${readdirSync(addons).length} addon(s) signed ad hoc`);
    }
  },
};
