#!/bin/bash
# The baseline of `npm run bench -- image`: the same packages as qkvm's debian-12
# image, left as mmdebstrap leaves them (TESTING.md's plain build): apt's
# defaults (recommends too), the initramfs-tools defaults (MODULES=most),
# cloud-init's default datasource list, ifupdown and isc-dhcp-client for the
# network, host keys made by the build. Only what booting needs at all is
# added: nothing. It boots with root=/dev/vda from the same QEMU arguments.
#
#   bench/build-plain-debian.sh OUTDIR SIZE
#
# OUTDIR receives disk.qcow2, vmlinuz and initrd.img. Needs root, mmdebstrap,
# mke2fs and qemu-img.
set -euo pipefail
OUTDIR=${1:?usage: build-plain-debian.sh OUTDIR SIZE}
SIZE=${2:?usage: build-plain-debian.sh OUTDIR SIZE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIRROR=${QKVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${QKVM_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
mapfile -t PACKAGES < <(grep -v '^#' "$HERE/../scripts/debian-image/packages")
PACKAGES+=(ifupdown isc-dhcp-client)

mkdir -p "$OUTDIR"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/qkvm-plain-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mmdebstrap --mode=root --variant=apt --format=directory \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  bookworm "$WORK/root" \
  "deb $MIRROR bookworm main" \
  "deb $MIRROR bookworm-updates main" \
  "deb $SECURITY bookworm-security main" >&2
KVER=$(ls "$WORK/root/lib/modules" | head -n 1)
cp "$WORK/root/boot/vmlinuz-$KVER" "$OUTDIR/vmlinuz"
cp "$WORK/root/boot/initrd.img-$KVER" "$OUTDIR/initrd.img"
mke2fs -q -t ext4 -L root -E root_owner=0:0 -d "$WORK/root" "$WORK/disk.raw" "$SIZE" >&2
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$OUTDIR/disk.qcow2" >&2
echo "$KVER" >"$OUTDIR/kernel-version"
