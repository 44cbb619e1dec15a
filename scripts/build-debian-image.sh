#!/bin/bash
# Build a bootable Debian 12 (bookworm) guest image from Debian's packages.
#
#   scripts/build-debian-image.sh OUTDIR SIZE [EXTRA_PACKAGE...]
#
# SIZE is the disk's size as truncate(1) reads it: bytes, or 4G.
#
# OUTDIR must not exist yet or be empty; it receives:
#   disk.qcow2   the root filesystem: ext4 on the whole disk (no partition
#                table), label "root"; the guest boots it as /dev/vda
#   vmlinuz      the kernel of linux-image-cloud-amd64 (direct kernel boot)
#   initrd.img   qkvm's initramfs: busybox and the virtio modules, which mounts
#                root= and starts systemd (debian-image/init)
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
for tool in mmdebstrap mke2fs qemu-img cpio gzip; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing. Run scripts/setup-host.sh (as root) first."
done

# What every qkvm Debian guest has (debian-image/packages says why each), and
# the --packages of the build.
mapfile -t PACKAGES < <(grep -v '^#' "$FILES/packages")
PACKAGES+=("$@")

mkdir -p "$OUTDIR"
[ -z "$(ls -A "$OUTDIR")" ] || die "$OUTDIR is not empty"
BUSYBOX=
for f in $(dpkg-query -L busybox-static 2>/dev/null); do
  case "$f" in */bin/busybox) [ -x "$f" ] && BUSYBOX=$f && break ;; esac
done
[ -n "$BUSYBOX" ] || die "busybox-static is missing (the initramfs' shell). Run scripts/setup-host.sh (as root) first."
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

step 3 "kernel, and an initramfs of busybox and the virtio modules"
KVER=$(ls "$ROOT/lib/modules" | head -n 1)
[ -n "$KVER" ] && [ -f "$ROOT/boot/vmlinuz-$KVER" ] \
  || die "the tree has no /boot/vmlinuz-<version>"
cp "$ROOT/boot/vmlinuz-$KVER" "$OUTDIR/vmlinuz"
# qkvm's own initramfs (debian-image/init says why): busybox from the host's
# busybox-static, the modules of virtio-pci and virtio-blk in load order.
INITRD=$WORK/initrd
mkdir -p "$INITRD/bin"
cp "$BUSYBOX" "$INITRD/bin/busybox"
install -m 0755 "$FILES/init" "$INITRD/init"
for module in virtio_pci virtio_blk; do
  chroot "$ROOT" modprobe -S "$KVER" --show-depends "$module"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$INITRD/modules"
[ -s "$INITRD/modules" ] || die "modprobe --show-depends found no virtio modules for $KVER"
while read -r ko; do
  mkdir -p "$INITRD$(dirname "$ko")"
  cp "$ROOT$ko" "$INITRD$ko"
done <"$INITRD/modules"
(cd "$INITRD" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$OUTDIR/initrd.img"
chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n' >"$OUTDIR/packages.txt"

step 4 "mke2fs -t ext4 -d (the tree into a $SIZE raw file)"
# The file is made at its size first: mke2fs reads a bare number as KiB
# blocks, not bytes (4294967296 made a 4 TiB file system, whose lazy inode
# table init then ran through every boot).
truncate -s "$SIZE" "$WORK/disk.raw"
mke2fs -q -t ext4 -L root -E root_owner=0:0 -d "$ROOT" "$WORK/disk.raw" >&2

step 5 "qemu-img convert -O qcow2"
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$OUTDIR/disk.qcow2" >&2

step 6 "done: $OUTDIR (kernel $KVER)"
echo "$KVER" >"$OUTDIR/kernel-version"
