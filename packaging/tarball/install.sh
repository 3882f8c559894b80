#!/bin/sh
# Installs this untarred Sparkngin into a prefix. Safe to run again (an upgrade is: untar the new
# version, run its install.sh with the same options): files are replaced atomically, and a config
# you edited is never overwritten; the new default is written beside it as sparkngin.yaml.new.
set -eu

usage() {
  cat <<'USAGE'
Usage: ./install.sh [options]

  --prefix DIR       bin/, lib/sparkngin/ and share/man/ go under DIR
                     (default /usr/local as root, ~/.local otherwise)
  --sysconfdir DIR   config directory (default /etc/sparkngin as root, PREFIX/etc/sparkngin otherwise)
  --statedir DIR     data directory written into a new config as dataDir
                     (default /var/lib/sparkngin as root, ~/.local/state/sparkngin otherwise)
  --systemd          also install the systemd unit and the sparkngin system user (root only;
                     the default when run as root on a systemd machine); never starts the service
  --no-systemd       do not
  --uninstall        remove what an install put in place; keeps the config and the data
  -h, --help         this help

DESTDIR=/path stages the install under /path (for packagers): no user, no systemctl.
USAGE
}

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

here=$(cd "$(dirname "$0")" && pwd)
destdir=${DESTDIR:-}
prefix= sysconfdir= statedir= systemd=auto action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --sysconfdir) [ $# -ge 2 ] || die "--sysconfdir needs a directory"; sysconfdir=$2; shift 2 ;;
    --sysconfdir=*) sysconfdir=${1#*=}; shift ;;
    --statedir) [ $# -ge 2 ] || die "--statedir needs a directory"; statedir=$2; shift 2 ;;
    --statedir=*) statedir=${1#*=}; shift ;;
    --systemd) systemd=yes; shift ;;
    --no-systemd) systemd=no; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done

if [ "$(id -u)" -eq 0 ]; then
  : "${prefix:=/usr/local}" "${sysconfdir:=/etc/sparkngin}" "${statedir:=/var/lib/sparkngin}"
else
  : "${prefix:=$HOME/.local}"
  : "${sysconfdir:=$prefix/etc/sparkngin}" "${statedir:=${XDG_STATE_HOME:-$HOME/.local/state}/sparkngin}"
fi
if [ "$systemd" = auto ]; then
  if [ "$(id -u)" -eq 0 ] && [ -z "$destdir" ] && [ -d /run/systemd/system ]; then systemd=yes; else systemd=no; fi
fi
[ "$systemd" = no ] || [ "$(id -u)" -eq 0 ] || die "--systemd needs root"
case "$prefix$sysconfdir$statedir" in *'|'*) die "paths must not contain '|'" ;; esac

bin=$destdir$prefix/bin
lib=$destdir$prefix/lib/sparkngin
mandir=$destdir$prefix/share/man/man8
share=$destdir$prefix/share/sparkngin
etc=$destdir$sysconfdir
unit=$destdir/etc/systemd/system/sparkngin.service

if [ "$action" = uninstall ]; then
  if [ -f "$unit" ] && [ -z "$destdir" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now sparkngin.service >/dev/null 2>&1 || :
  fi
  rm -f "$bin/sparkngin" "$mandir/sparkngin.8" "$unit"
  rm -rf "$lib" "$share"
  [ -z "$destdir" ] && [ -d /run/systemd/system ] && systemctl daemon-reload 2>/dev/null || :
  say "removed sparkngin from $prefix; kept $sysconfdir and $statedir (remove them by hand if you want)"
  exit 0
fi

"$here/bin/sparkngin" version >/dev/null 2>&1 ||
  die "$here/bin/sparkngin does not run on this machine ($(uname -m)); take the tarball built for it (needs glibc 2.28 or later)"

# Copy to a temporary name in the same directory, then rename: an executable that is running (the
# service, during an upgrade) is replaced, never written into.
put() { # put SRC DEST MODE
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

put "$here/bin/sparkngin" "$bin/sparkngin" 755
rm -rf "$lib.tmp.$$"
mkdir -p "$(dirname "$lib")"
cp -R "$here/lib/sparkngin" "$lib.tmp.$$"
rm -rf "$lib"
mv "$lib.tmp.$$" "$lib"
put "$here/man/man8/sparkngin.8" "$mandir/sparkngin.8" 644
# The Nagios object definitions (a sample: active only once nagios.cfg names it), with this prefix's paths.
nagios_cfg=$(mktemp)
sed -e "s|/usr/local/bin/sparkngin|$prefix/bin/sparkngin|g" -e "s|/usr/local/share/sparkngin/|$prefix/share/sparkngin/|g" \
  "$here/nagios/sparkngin.cfg" >"$nagios_cfg"
put "$nagios_cfg" "$share/nagios/sparkngin.cfg" 644
rm -f "$nagios_cfg"

# The config: the shipped default with dataDir pointing at the state directory. The default that was
# installed last is kept in share/ so an unedited config can be told apart from an edited one, as
# rpm's %config(noreplace) does: unedited → replaced by the new default; edited → kept, and if the
# default changed, the new one is written beside it as sparkngin.yaml.new.
new_default=$(mktemp)
trap 'rm -f "$new_default"' EXIT
sed "s|^dataDir: .*|dataDir: $statedir|" "$here/etc/sparkngin.yaml" >"$new_default"
config=$etc/sparkngin.yaml
mkdir -p "$etc" "$share"
if [ ! -f "$config" ]; then
  put "$new_default" "$config" 640
  say "wrote $sysconfdir/sparkngin.yaml"
elif cmp -s "$config" "$new_default"; then
  :
elif [ -f "$share/sparkngin.yaml.default" ] && cmp -s "$config" "$share/sparkngin.yaml.default"; then
  put "$new_default" "$config" 640
  say "updated $sysconfdir/sparkngin.yaml to the new default (it was not edited)"
elif [ -f "$share/sparkngin.yaml.default" ] && cmp -s "$new_default" "$share/sparkngin.yaml.default"; then
  : # edited, and the default did not change since: nothing to offer
else
  if ! cmp -s "$new_default" "$config.new" 2>/dev/null; then put "$new_default" "$config.new" 640; fi
  say "kept your edited $sysconfdir/sparkngin.yaml; the new default is $sysconfdir/sparkngin.yaml.new"
fi
put "$new_default" "$share/sparkngin.yaml.default" 644

if [ "$systemd" = yes ]; then
  mkdir -p "$(dirname "$unit")"
  sed -e "s|^ExecStart=.*|ExecStart=$prefix/bin/sparkngin start --config $sysconfdir/sparkngin.yaml|" \
    -e "s|^WorkingDirectory=.*|WorkingDirectory=$statedir|" "$here/systemd/sparkngin.service" >"$new_default"
  if [ "$statedir" != /var/lib/sparkngin ]; then
    # StateDirectory= only makes /var/lib/sparkngin writable under ProtectSystem=strict.
    sed -i "s|^StateDirectory=sparkngin|ReadWritePaths=$statedir|; /^StateDirectoryMode=/d" "$new_default"
  fi
  put "$new_default" "$unit" 644
  if [ -z "$destdir" ]; then
    getent group sparkngin >/dev/null || groupadd -r sparkngin
    getent passwd sparkngin >/dev/null ||
      useradd -r -g sparkngin -d /var/lib/sparkngin -s /sbin/nologin -c "Sparkngin message logger" sparkngin
    chgrp sparkngin "$config" && chmod 640 "$config"
    if [ "$statedir" != /var/lib/sparkngin ]; then
      mkdir -p "$statedir" && chown sparkngin:sparkngin "$statedir" && chmod 750 "$statedir"
    fi
    [ -d /run/systemd/system ] && systemctl daemon-reload || :
  fi
  say "installed the systemd unit; start it with: systemctl enable --now sparkngin"
fi
say "installed sparkngin $("$bin/sparkngin" version | cut -d' ' -f2) in $prefix (config $sysconfdir/sparkngin.yaml, data $statedir)"
