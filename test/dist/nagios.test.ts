// The Nagios object definitions in every package: the tarball (through install.sh, into a prefix of
// its own), the RPM, the .deb and the macOS .pkg each install them where the guide says, their
// commands pointing at that package's executable, and a real Nagios (nagios4 -v) accepts each with
// a host and every service template in use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../packaging/context';
import { debFileName } from '../../packaging/steps/deb';
import { pkgPath } from '../../packaging/steps/pkg';
import { rpmPath } from '../../packaging/steps/rpm';
import { tarballBase, tarballPath } from '../../packaging/steps/tarball';
import { targetByName } from '../../packaging/targets';
import { makeNagios, sparknginHost } from '../peers/nagios';
import { unpackPkg } from './macos/read';
import { DIST_TIMEOUT_MS, ensureDist, ok, tempDir } from './helpers';

const X64 = targetByName('linux-x64');
const TEMPLATES = ['sparkngin-health', 'sparkngin-spool', 'sparkngin-lag', 'sparkngin-sinks', 'sparkngin-heartbeat', 'sparkngin-agent'];

let ctx: Context;
beforeAll(() => {
  ctx = ensureDist();
}, DIST_TIMEOUT_MS);

/** nagios4 -v of `file` with a host and a service of each template. */
async function verify(file: string): Promise<string> {
  const nagios = await makeNagios({
    cfgFiles: [file],
    objects: `
${sparknginHost('ingest-01')}
${TEMPLATES.map((template) => `define service {\n    use        ${template}\n    host_name  ingest-01\n    contacts   nobody\n}\n`).join('')}`,
  });
  try {
    const { code, output } = await nagios.verify();
    expect(output).toMatch(/Total Errors:\s+0/);
    expect(output).toContain(`Checked ${TEMPLATES.length} services.`);
    expect(code).toBe(0);
    return output;
  } finally {
    await nagios.stop();
  }
}

/** The executables the file's command lines run, and the path its comment says to add to nagios.cfg. */
function paths(file: string): { executables: string[]; cfgFile: string | undefined } {
  const text = readFileSync(file, 'utf8');
  const executables = [...new Set([...text.matchAll(/^\s*command_line\s+(\S+)/gm)].map((match) => match[1]!))];
  return { executables, cfgFile: /cfg_file=(\S+)/.exec(text)?.[1] };
}

describe('Nagios object definitions in the packages', () => {
  it('tarball: install.sh puts them in PREFIX/share/sparkngin/nagios, commands on PREFIX/bin/sparkngin', async () => {
    const dir = tempDir('nagios-tar');
    ok('tar', ['-xzf', tarballPath(ctx, X64), '-C', dir]);
    const root = tempDir('nagios-prefix');
    const prefix = join(root, 'opt');
    ok(join(dir, tarballBase(ctx, X64), 'install.sh'), ['--prefix', prefix, '--sysconfdir', join(root, 'etc'), '--statedir', join(root, 'var'), '--no-systemd']);
    const file = join(prefix, 'share/sparkngin/nagios/sparkngin.cfg');
    expect(paths(file)).toEqual({ executables: [join(prefix, 'bin/sparkngin')], cfgFile: file });
    await verify(file);
    // What the commands run is there and is a Nagios plugin.
    const ran = ok('sh', ['-c', `"$1" check lag --url http://127.0.0.1:1 || echo "exit $?"`, 'sh', join(prefix, 'bin/sparkngin')]);
    expect(ran).toMatch(/^SPARKNGIN LAG UNKNOWN - .*\nexit 3\n$/);
  });

  it('RPM: /usr/share/sparkngin/nagios/sparkngin.cfg, commands on /usr/bin/sparkngin', async () => {
    const dir = tempDir('nagios-rpm');
    ok('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet ./usr/share/sparkngin/nagios/sparkngin.cfg', 'sh', rpmPath(ctx, X64, 'el9')], { cwd: dir });
    const file = join(dir, 'usr/share/sparkngin/nagios/sparkngin.cfg');
    expect(paths(file)).toEqual({ executables: ['/usr/bin/sparkngin'], cfgFile: '/usr/share/sparkngin/nagios/sparkngin.cfg' });
    await verify(file);
  });

  it('.deb: /usr/share/sparkngin/nagios/sparkngin.cfg, commands on /usr/bin/sparkngin', async () => {
    const dir = tempDir('nagios-deb');
    ok('dpkg-deb', ['-x', join(ctx.dist, 'deb', debFileName(ctx, X64)), dir]);
    const file = join(dir, 'usr/share/sparkngin/nagios/sparkngin.cfg');
    expect(paths(file)).toEqual({ executables: ['/usr/bin/sparkngin'], cfgFile: '/usr/share/sparkngin/nagios/sparkngin.cfg' });
    await verify(file);
  });

  it('macOS .pkg: /usr/local/share/sparkngin/nagios/sparkngin.cfg, commands on /usr/local/bin/sparkngin', async () => {
    const { payload } = unpackPkg(pkgPath(ctx));
    const file = join(payload, 'usr/local/share/sparkngin/nagios/sparkngin.cfg');
    expect(paths(file)).toEqual({ executables: ['/usr/local/bin/sparkngin'], cfgFile: '/usr/local/share/sparkngin/nagios/sparkngin.cfg' });
    await verify(file);
  });
});
