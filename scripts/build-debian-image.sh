#!/bin/bash
# Build a bootable Debian 12 (bookworm) guest image from Debian's packages.
#
#   scripts/build-debian-image.sh OUTDIR SIZE [EXTRA_PACKAGE...]
#
# OUTDIR must not exist yet or be empty; it receives:
#   disk.qcow2   the root filesystem: ext4 on the whole disk (no partition
#                table), label "root"; the guest boots it as /dev/vda
#   vmlinuz      the kernel of linux-image-cloud-amd64 (direct kernel boot)
#   initrd.img   its initramfs, cut down to what a virtio guest needs
#   packages.txt every installed package and version (dpkg-query)
#
# Progress goes to stderr as lines "step N/6: what". `qkvm image build
# debian-12` runs this and caches the result by its inputs; run by hand, it is
# the same build.
#
# Needs root (mmdebstrap --mode=root writes a tree owned by root), mmdebstrap,
# e2fsprogs (mke2fs -d) and qemu-img. QKVM_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

OUTDIR=${1:?usage: build-debian-image.sh OUTDIR SIZE [EXTRA_PACKAGE...]}
SIZE=${2:?usage: build-debian-image.sh OUTDIR SIZE [EXTRA_PACKAGE...]}
shift 2
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FILES=$SCRIPT_DIR/debian-image
MIRROR=${QKVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${QKVM_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { echo "$*" >&2; }
die() { echo "build-debian-image: error: $*" >&2; exit 1; }
step() { log "step $1/6: $2"; }

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap --mode=root, mke2fs -d with the files' owners)"
for tool in mmdebstrap mke2fs qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing. Run scripts/setup-host.sh (as root) first."
done

# What every qkvm Debian guest has: systemd, sshd, cloud-init (NoCloud), the
# QEMU guest agent, the cloud kernel (virtio, no hardware drivers), networkd +
# resolved (no ifupdown, no dhclient), udev (networkd waits for it), dbus
# (hostnamectl, which cloud-init uses to set the hostname), sudo (the default
# user's sudo rule).
PACKAGES=(
  systemd-sysv udev dbus systemd-resolved openssh-server cloud-init qemu-guest-agent
  linux-image-cloud-amd64 iproute2 sudo
  "$@"
)

mkdir -p "$OUTDIR"
[ -z "$(ls -A "$OUTDIR")" ] || die "$OUTDIR is not empty"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/qkvm-debian-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

step 1 "mmdebstrap bookworm: ${PACKAGES[*]}"
# dpkg without an fsync per file (the tree is thrown away if the build fails).
# Before any package is unpacked: no docs, man pages or translations (a
# smaller tree to copy and to boot), and an initramfs with only the listed
# modules (a guest here has virtio and nothing else; a small initramfs is
# unpacked faster under TCG).
# shellcheck disable=SC2016
mmdebstrap --mode=root --variant=apt --format=directory \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='force-unsafe-io' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --essential-hook="mkdir -p \"\$1/etc/initramfs-tools/conf.d\" && cp '$FILES/initramfs.conf' \"\$1/etc/initramfs-tools/conf.d/qkvm.conf\" && cp '$FILES/initramfs-modules' \"\$1/etc/initramfs-tools/modules\"" \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  bookworm "$ROOT" \
  "deb $MIRROR bookworm main" \
  "deb $MIRROR bookworm-updates main" \
  "deb $SECURITY bookworm-security main" >&2

step 2 "configure: fstab, cloud-init, networkd, masked units"
"$FILES/customize" "$ROOT" >&2

step 3 "kernel and initramfs"
KVER=$(ls "$ROOT/lib/modules" | head -n 1)
[ -n "$KVER" ] && [ -f "$ROOT/boot/vmlinuz-$KVER" ] && [ -f "$ROOT/boot/initrd.img-$KVER" ] \
  || die "the tree has no /boot/vmlinuz-<version> and initrd.img-<version>"
cp "$ROOT/boot/vmlinuz-$KVER" "$OUTDIR/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$OUTDIR/initrd.img"
chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n' >"$OUTDIR/packages.txt"

step 4 "mke2fs -t ext4 -d (the tree into a $SIZE raw file)"
mke2fs -q -t ext4 -L root -E root_owner=0:0 -d "$ROOT" "$WORK/disk.raw" "$SIZE" >&2

step 5 "qemu-img convert -O qcow2"
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$OUTDIR/disk.qcow2" >&2

step 6 "done: $OUTDIR (kernel $KVER)"
echo "$KVER" >"$OUTDIR/kernel-version"
