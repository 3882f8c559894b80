#!/bin/sh
# Adds the Sparkngin yum repository to this machine:
#
#   curl -fsSL @REPO_URL@/setup.sh | sudo sh
#   sudo dnf install sparkngin
#
# It works out the Enterprise Linux release (8 or 9) from /etc/os-release and the architecture from
# uname -m, installs the signing key (/etc/pki/rpm-gpg/RPM-GPG-KEY-sparkngin, imported into rpm)
# and /etc/yum.repos.d/sparkngin.repo. Running it again changes nothing.
#
# Environment: SPARKNGIN_REPO_URL (another mirror), and for tests and image builds SPARKNGIN_ROOT
# (install into that root instead of /), SPARKNGIN_OS_RELEASE and SPARKNGIN_ARCH (pretend).
# `setup.sh --print-repo el9` prints the .repo file for that release and exits.
set -eu

REPO_URL=${SPARKNGIN_REPO_URL:-@REPO_URL@}
REPO_URL=${REPO_URL%/}
ROOT=${SPARKNGIN_ROOT:-}
OS_RELEASE=${SPARKNGIN_OS_RELEASE:-/etc/os-release}
KEY_PATH=/etc/pki/rpm-gpg/RPM-GPG-KEY-sparkngin

die() { echo "sparkngin setup: $*" >&2; exit 1; }

repo_file() { # repo_file el9
  cat <<REPO
[sparkngin]
name=Sparkngin for Enterprise Linux ${1#el} - \$basearch
baseurl=$REPO_URL/$1/\$basearch
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=file://$KEY_PATH
REPO
}

if [ "${1:-}" = --print-repo ]; then
  case "${2:-}" in el8|el9) repo_file "$2"; exit 0 ;; *) die "--print-repo takes el8 or el9" ;; esac
fi
[ $# -eq 0 ] || die "unknown argument '$1' (this script takes none; see its header)"

# --- which system is this? ---
[ -r "$OS_RELEASE" ] || die "cannot read $OS_RELEASE; this repository is for RHEL, CentOS Stream, Rocky, AlmaLinux and Oracle Linux 8 and 9. Elsewhere use the tarball."
# Read, not sourced: a value of os-release is taken as data, never run.
field() { sed -n "s/^$1=//p" "$OS_RELEASE" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"; }
ID=$(field ID) ID_LIKE=$(field ID_LIKE) VERSION_ID=$(field VERSION_ID) PRETTY_NAME=$(field PRETTY_NAME)
name=${PRETTY_NAME:-${ID:-unknown} ${VERSION_ID:-}}
case " $ID $ID_LIKE " in
  *" rhel "*|*" centos "*|*" rocky "*|*" almalinux "*|*" ol "*) ;;
  *) die "$name is not supported: this repository is for Enterprise Linux 8 and 9 (RHEL, CentOS Stream, Rocky, AlmaLinux, Oracle Linux). Use the tarball or the single executable instead (glibc 2.28 or later)." ;;
esac
major=${VERSION_ID%%.*}
case "$major" in
  8|9) el=el$major ;;
  [1-7]) die "$name is too old: Sparkngin needs glibc 2.28, that is Enterprise Linux 8 or later." ;;
  *) die "$name (release '$VERSION_ID') has no Sparkngin repository yet (el8 and el9 only); the tarball should run on it." ;;
esac
machine=${SPARKNGIN_ARCH:-$(uname -m)}
case "$machine" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) die "no packages for the $machine architecture (x86_64 and aarch64 only)" ;;
esac

[ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run it as root (sudo sh setup.sh)"
command -v rpm >/dev/null 2>&1 || die "rpm is not installed"
command -v curl >/dev/null 2>&1 || die "curl is not installed (dnf install curl)"

# --- the key, then the repository ---
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/key" "$REPO_URL/RPM-GPG-KEY-sparkngin" ||
  die "cannot download $REPO_URL/RPM-GPG-KEY-sparkngin"
grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$tmp/key" ||
  die "$REPO_URL/RPM-GPG-KEY-sparkngin is not an OpenPGP public key"
mkdir -p "$ROOT/etc/pki/rpm-gpg" "$ROOT/etc/yum.repos.d"
install -m 0644 "$tmp/key" "$ROOT$KEY_PATH"
rpm --root "${ROOT:-/}" --import "$ROOT$KEY_PATH" || die "rpm --import of the signing key failed"
repo_file "$el" >"$tmp/repo"
install -m 0644 "$tmp/repo" "$ROOT/etc/yum.repos.d/sparkngin.repo"

echo "sparkngin setup: added the Sparkngin repository for $el/$arch ($name)."
echo "sparkngin setup: now run: dnf install sparkngin"
