// zeromq's native addon, for the build's bundle: the bundle carries the zeromq package's JavaScript
// and this module takes the place of its `lib/load-addon.js` (scripts/build.mjs), because the
// single executable cannot find a package on disk and cannot hold a `.node` file.
//
// - The single executable loads the addon shipped beside it, by the rule every package follows
//   (packaging/README.md): `<dir of the executable>/../lib/sparkngin/zeromq.node` (the tarball's
//   lib/sparkngin/, /usr/lib/sparkngin/ from the RPM and the .deb, PREFIX/lib/sparkngin/ after
//   install.sh), through a require made for the executable's path (a SEA's own require loads only
//   Node's modules).
// - Run as a file (`npm start`, the npm package), it is zeromq's own loader, from the package's
//   own directory: the prebuilt addon that matches this machine.
// Evaluated only when a ZeroMQ sink or ingest first loads zeromq, so a daemon without ZeroMQ never
// touches the addon.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isSea } from 'node:sea';
import { SparknginError } from '../errors';

export class ZeromqAddonError extends SparknginError {
  constructor(where: string, cause: unknown) {
    super('ZMQ_ADDON_MISSING', `the ZeroMQ library cannot be loaded (${where}): ${(cause as Error).message}`, { cause });
  }
}

/** Where the single executable looks for its addon. */
export function shippedAddonPath(executable: string = process.execPath): string {
  return join(dirname(executable), '..', 'lib', 'sparkngin', 'zeromq.node');
}

function load(): unknown {
  if (isSea()) {
    const file = shippedAddonPath();
    try {
      return createRequire(process.execPath)(file);
    } catch (error) {
      throw new ZeromqAddonError(file, error);
    }
  }
  const here = createRequire(__filename);
  const loader = join(dirname(here.resolve('zeromq/package.json')), 'lib', 'load-addon.js');
  return (here(loader) as { default: unknown }).default;
}

export default load();
