#!/bin/sh
# Removes what Sparkngin-VERSION.pkg installed:  sudo sh uninstall.sh [--purge]
# (it is in the disk image and at /usr/local/share/sparkngin/uninstall.sh).
# Stops and unloads the daemon, removes the executable, addons, man page, documents and the
# LaunchDaemon, and forgets the package receipt. Keeps the config (/usr/local/etc/sparkngin), the data
# (/usr/local/var/sparkngin: it may hold events not yet delivered), the logs and the _sparkngin user,
# unless --purge, which removes them too.
# SPARKNGIN_ROOT=DIR works on a tree under DIR instead of / (tests).
set -eu
root=${SPARKNGIN_ROOT:-}
label=org.sparkngin.sparkngin
user=_sparkngin
purge=no
for arg in "$@"; do
  case "$arg" in
    --purge) purge=yes ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown option '$arg' (see --help)" >&2; exit 1 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then echo "uninstall.sh: run it as root: sudo sh $0" >&2; exit 1; fi

if launchctl print "system/$label" >/dev/null 2>&1; then
  launchctl bootout "system/$label" || echo "uninstall.sh: launchctl bootout failed; going on" >&2
fi
rm -f "$root/Library/LaunchDaemons/$label.plist" "$root/usr/local/bin/sparkngin" "$root/usr/local/share/man/man8/sparkngin.8"
rm -rf "$root/usr/local/lib/sparkngin" "$root/usr/local/share/doc/sparkngin" "$root/usr/local/share/sparkngin"
pkgutil --forget "$label" >/dev/null 2>&1 || :
if [ "$purge" = yes ]; then
  rm -rf "$root/usr/local/etc/sparkngin" "$root/usr/local/var/sparkngin" "$root/usr/local/var/log/sparkngin"
  dscl . -delete "/Users/$user" >/dev/null 2>&1 || :
  dscl . -delete "/Groups/$user" >/dev/null 2>&1 || :
  echo "uninstall.sh: removed Sparkngin, its config, data, logs and the $user user"
else
  echo "uninstall.sh: removed Sparkngin; kept /usr/local/etc/sparkngin, /usr/local/var/sparkngin (data),"
  echo "uninstall.sh: /usr/local/var/log/sparkngin and the $user user (sudo sh $0 --purge removes them)"
fi
