// The shipped text files that differ by where they are installed: the default config (one template,
// packaging/assets/sparkngin.yaml, whose data directory depends on the layout) and the service
// definitions (the systemd unit, the launchd plist) with their paths filled in. Every format renders
// them here, so a tarball, an RPM and a .pkg never disagree on what a path means.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a default config is used, and so where its data goes. */
export type Layout = 'tarball' | 'system' | 'macos';

const DATA_DIRS: Record<Layout, { dir: string; note: string }> = {
  tarball: { dir: './data', note: 'A relative path is taken from the directory sparkngin is started in.' },
  system: { dir: '/var/lib/sparkngin', note: 'Owned by the sparkngin user; the systemd unit creates it (StateDirectory).' },
  macos: { dir: '/usr/local/var/sparkngin', note: 'Owned by the _sparkngin user; the installer creates it.' },
};

/** The default config for `layout`, from the template's text. */
export function renderConfig(template: string, layout: Layout): string {
  const { dir, note } = DATA_DIRS[layout];
  return template.replace('@DATA_DIR@', dir).replace('@DATA_DIR_NOTE@', note);
}

/** The same, read from packaging/assets/ of the repository at `root`. */
export function defaultConfig(root: string, layout: Layout): string {
  return renderConfig(readFileSync(join(root, 'packaging/assets/sparkngin.yaml'), 'utf8'), layout);
}

export function renderUnit(template: string, bindir: string, sysconfdir: string): string {
  return template.replace('@BINDIR@', bindir).replace('@SYSCONFDIR@', sysconfdir);
}

/** The systemd unit for an executable in `bindir` and a config in `sysconfdir`. */
export function systemdUnit(root: string, bindir: string, sysconfdir: string): string {
  return renderUnit(readFileSync(join(root, 'packaging/assets/sparkngin.service'), 'utf8'), bindir, sysconfdir);
}

/**
 * The Nagios object definitions (packaging/assets/nagios/sparkngin.cfg) for an executable in
 * `bindir`, installed at `installedAs` (the path its comment tells users to add to nagios.cfg).
 */
export function nagiosConfig(root: string, bindir: string, installedAs: string): string {
  return readFileSync(join(root, 'packaging/assets/nagios/sparkngin.cfg'), 'utf8').replaceAll('@BINDIR@', bindir).replace('@NAGIOS_CFG@', installedAs);
}
