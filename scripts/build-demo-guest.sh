#!/bin/bash
# Build qkvm's demo guest from Debian's own packages.
#
#   scripts/build-demo-guest.sh [OUTDIR]
#
# OUTDIR (default: $QKVM_HOME/cache/demo; QKVM_HOME defaults to /var/lib/qkvm
# for root, $XDG_DATA_HOME/qkvm otherwise) receives:
#   vmlinuz          the kernel of Debian's linux-image-cloud-amd64
#   initrd.img       a gzip'd cpio (newc) initramfs: busybox-static, the guest's
#                    /init and scripts from scripts/demo-guest/, and the kernel
#                    modules listed in scripts/demo-guest/modules
#   VERSION          the kernel version (what `uname -r` says in the guest)
#   inputs.sha256    the stamp: package versions and script checksums
#   debs/            the downloaded kernel package, kept for rebuilds
#
# It rebuilds only when an input changed: the version of the kernel package
# that linux-image-cloud-amd64 depends on, the version of busybox-static, this
# script, or a file in scripts/demo-guest/. Otherwise it says
# "demo guest is up to date" and exits.
#
# Needs: apt-get, apt-cache, dpkg-deb, cpio, gzip, busybox-static
# (scripts/setup-host.sh installs them). The download needs a Debian mirror;
# `apt-get update` runs first only when apt's package lists are empty, and
# needs root then.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_DIR=$SCRIPT_DIR/demo-guest
META_PKG=linux-image-cloud-amd64
# QKVM_HOME's default follows qkvm's: /var/lib/qkvm for root, else under XDG_DATA_HOME.
if [ "$(id -u)" -eq 0 ]; then
  default_home=/var/lib/qkvm
else
  default_home=${XDG_DATA_HOME:-$HOME/.local/share}/qkvm
fi
OUTDIR=${1:-${QKVM_HOME:-$default_home}/cache/demo}

log() { echo "build-demo-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb dpkg-query cpio gzip sha256sum flock; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' is missing. Run scripts/setup-host.sh (as root) first."
done
[ -f "$GUEST_DIR/init" ] || die "$GUEST_DIR/init is missing"

installed_version() {
  dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null \
    | sed -n 's/^installed //p'
}

BUSYBOX_VERSION=$(installed_version busybox-static)
[ -n "$BUSYBOX_VERSION" ] \
  || die "busybox-static is not installed. Run scripts/setup-host.sh (as root) first."
BUSYBOX=
for f in $(dpkg-query -L busybox-static); do
  case "$f" in */bin/busybox) [ -x "$f" ] && BUSYBOX=$f && break ;; esac
done
[ -n "$BUSYBOX" ] || die "busybox-static is installed but its /bin/busybox was not found"

# The versioned kernel package (linux-image-6.1.0-NN-cloud-amd64) that the
# meta package's candidate version depends on, and that package's version
# (the meta package pins it with "(= VERSION)"). One apt-cache call: it is
# most of the time an up-to-date check takes.
resolve_kernel_pkg() {
  apt-cache show --no-all-versions "$META_PKG" 2>/dev/null \
    | sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) *(= *\([^) ]*\)).*/\1 \2/p' \
    | head -n 1
}
resolved=$(resolve_kernel_pkg || true)
if [ -z "$resolved" ]; then
  log "apt knows no $META_PKG: running apt-get update once"
  if [ "$(id -u)" -ne 0 ]; then
    die "apt's package lists are empty, and apt-get update needs root. Run: sudo apt-get update"
  fi
  apt-get update -q -o DPkg::Lock::Timeout=120 >&2 || log "apt-get update failed"
  resolved=$(resolve_kernel_pkg || true)
  if [ -z "$resolved" ]; then
    if [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initrd.img" ] && [ -s "$OUTDIR/inputs.sha256" ]; then
      log "warning: cannot ask apt for $META_PKG; keeping the demo guest already in $OUTDIR"
      exit 0
    fi
    die "apt knows no $META_PKG even after apt-get update (is a Debian mirror reachable?)"
  fi
fi
KERNEL_PKG=${resolved% *}
KERNEL_PKG_VERSION=${resolved#* }

# The stamp: everything that, when it changes, changes the guest.
inputs() {
  echo "# qkvm demo guest inputs: it is rebuilt when any line changes"
  echo "package $KERNEL_PKG $KERNEL_PKG_VERSION"
  echo "package busybox-static $BUSYBOX_VERSION"
  (cd "$SCRIPT_DIR" && sha256sum build-demo-guest.sh)
  (cd "$SCRIPT_DIR" && find demo-guest -type f | LC_ALL=C sort | xargs -r sha256sum)
  # Modes matter too: an init that lost its x bit is a different guest.
  (cd "$SCRIPT_DIR" && find demo-guest -type f -perm -u+x | LC_ALL=C sort | sed 's/^/executable /')
}

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
# One build at a time for one OUTDIR (tests and users may share a cache).
exec 9>"$OUTDIR/.lock"
flock 9

NEW_INPUTS=$(inputs)
up_to_date() {
  [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initrd.img" ] && [ -s "$OUTDIR/VERSION" ] \
    && [ -f "$OUTDIR/inputs.sha256" ] \
    && [ "$(cat "$OUTDIR/inputs.sha256")" = "$NEW_INPUTS" ]
}
if up_to_date; then
  echo "demo guest is up to date ($OUTDIR, kernel $(cat "$OUTDIR/VERSION"))"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qkvm-demo-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- the kernel package, downloaded once -------------------------------------
DEBS=$OUTDIR/debs
mkdir -p "$DEBS"
find_deb() {
  local f
  for f in "$1"/"${KERNEL_PKG}"_*.deb; do
    [ -f "$f" ] || continue
    if [ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$KERNEL_PKG_VERSION" ]; then
      echo "$f"
      return 0
    fi
  done
  return 1
}
DEB=$(find_deb "$DEBS" || true)
if [ -z "$DEB" ]; then
  cached=$(find_deb /var/cache/apt/archives || true)
  if [ -n "$cached" ]; then
    log "using $cached from apt's cache"
    cp "$cached" "$DEBS/"
  else
    log "downloading $KERNEL_PKG=$KERNEL_PKG_VERSION"
    sandbox=()
    [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$WORK" && apt-get download -q "${sandbox[@]}" "$KERNEL_PKG=$KERNEL_PKG_VERSION" >&2) \
      || die "apt-get download $KERNEL_PKG=$KERNEL_PKG_VERSION failed"
    mv "$WORK"/"${KERNEL_PKG}"_*.deb "$DEBS/"
  fi
  DEB=$(find_deb "$DEBS") || die "the downloaded package is not $KERNEL_PKG $KERNEL_PKG_VERSION"
  # Older versions of the kernel package are of no more use.
  for f in "$DEBS"/*.deb; do
    [ "$f" = "$DEB" ] || rm -f "$f"
  done
fi

log "unpacking $(basename "$DEB")"
PKGROOT=$WORK/pkg
dpkg-deb -x "$DEB" "$PKGROOT"
KVER=$(ls "$PKGROOT/lib/modules" | head -n 1)
[ -n "$KVER" ] && [ -f "$PKGROOT/boot/vmlinuz-$KVER" ] \
  || die "$DEB has no boot/vmlinuz-<version> with lib/modules/<version>"
MODDIR=$PKGROOT/lib/modules/$KVER

# --- the initramfs tree ------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc/qkvm,etc/acpi/PWRF,proc,sys,dev,run,tmp,var/log,root,lib/modules}
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"

cp "$BUSYBOX" "$ROOT/bin/busybox"
# One symlink per applet, at the path busybox gives it (bin/sh, sbin/ip, ...).
"$BUSYBOX" --list-full | while read -r applet; do
  [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done
[ -e "$ROOT/bin/sh" ] || die "busybox has no sh applet"

install -m 0755 "$GUEST_DIR/init" "$ROOT/init"
install -m 0755 "$GUEST_DIR/netup" "$ROOT/etc/qkvm/netup"
install -m 0755 "$GUEST_DIR/udhcpc.script" "$ROOT/etc/qkvm/udhcpc.script"
install -m 0755 "$GUEST_DIR/hotplug" "$ROOT/etc/qkvm/hotplug"
install -m 0755 "$GUEST_DIR/console" "$ROOT/etc/qkvm/console"
install -m 0755 "$GUEST_DIR/power-button" "$ROOT/etc/acpi/PWRF/00000080"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
echo "demo" >"$ROOT/etc/hostname"
: >"$ROOT/etc/resolv.conf"
echo "$KVER" >"$ROOT/etc/qkvm/kernel-version"

# /dev/console for the kernel to open before /init runs. The kernel's own
# built-in initramfs has it too, so without root (no mknod) this is skipped.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true

# --- kernel modules, in dependency order --------------------------------------
declare -A KO_PATH=()   # module name (with _) -> path relative to MODDIR
while IFS= read -r ko; do
  name=$(basename "$ko" .ko)
  KO_PATH[${name//-/_}]=${ko#"$MODDIR"/}
done < <(find "$MODDIR" -name '*.ko')

declare -A BUILTIN=()
if [ -f "$MODDIR/modules.builtin" ]; then
  while IFS= read -r line; do
    name=$(basename "$line" .ko)
    BUILTIN[${name//-/_}]=1
  done <"$MODDIR/modules.builtin"
fi

module_depends() {
  # The comma-separated depends= string of a .ko's .modinfo section.
  if command -v modinfo >/dev/null 2>&1; then
    modinfo -F depends "$1" 2>/dev/null | head -n 1
  else
    tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n 1
  fi
}

declare -A VISITED=()
ORDER=()
visit() {   # depth first: a module's dependencies come before it
  local name=${1//-/_} dep deps
  [ -n "${VISITED[$name]:-}" ] && return 0
  VISITED[$name]=1
  [ -n "${KO_PATH[$name]:-}" ] || return 0
  deps=$(module_depends "$MODDIR/${KO_PATH[$name]}")
  for dep in ${deps//,/ }; do
    visit "$dep"
  done
  ORDER+=("$name")
}

LOADED=() SKIPPED_BUILTIN=() SKIPPED_ABSENT=()
while read -r name _; do
  case "$name" in ''|'#'*) continue ;; esac
  name=${name//-/_}
  if [ -n "${KO_PATH[$name]:-}" ]; then
    visit "$name"
  elif [ -n "${BUILTIN[$name]:-}" ]; then
    SKIPPED_BUILTIN+=("$name")
  else
    SKIPPED_ABSENT+=("$name")
  fi
done <"$GUEST_DIR/modules"

: >"$ROOT/etc/qkvm/modules.order"
for name in "${ORDER[@]}"; do
  rel=${KO_PATH[$name]}
  mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
  cp "$MODDIR/$rel" "$ROOT/lib/modules/$KVER/$rel"
  echo "/lib/modules/$KVER/$rel" >>"$ROOT/etc/qkvm/modules.order"
  LOADED+=("$name")
done
for f in modules.builtin modules.order; do
  [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$ROOT/lib/modules/$KVER/$f"
done
# modules.dep, so that `modprobe` works in the guest too.
(cd "$ROOT/lib/modules/$KVER" && "$BUSYBOX" depmod -b "$ROOT" "$KVER" >/dev/null 2>&1) || true

log "kernel $KVER"
log "modules loaded by /init: ${LOADED[*]}"
[ "${#SKIPPED_BUILTIN[@]}" -eq 0 ] || log "built in (not copied): ${SKIPPED_BUILTIN[*]}"
[ "${#SKIPPED_ABSENT[@]}" -eq 0 ] || log "not in this kernel: ${SKIPPED_ABSENT[*]}"

# --- outputs --------------------------------------------------------------
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
  | gzip -9 >"$WORK/initrd.img"
cp "$PKGROOT/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
echo "$KVER" >"$WORK/VERSION"

# Replace the outputs one by one, each atomically; the stamp goes last, so an
# interrupted build is rebuilt next time.
rm -f "$OUTDIR/inputs.sha256"
for f in vmlinuz initrd.img VERSION; do
  cp "$WORK/$f" "$OUTDIR/.$f.new"
  mv -f "$OUTDIR/.$f.new" "$OUTDIR/$f"
done
printf '%s\n' "$NEW_INPUTS" >"$OUTDIR/.inputs.sha256.new"
mv -f "$OUTDIR/.inputs.sha256.new" "$OUTDIR/inputs.sha256"

echo "demo guest built in $OUTDIR: kernel $KVER, initrd $(du -k "$OUTDIR/initrd.img" | cut -f1) KiB"
