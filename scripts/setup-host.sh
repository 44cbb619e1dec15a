#!/bin/bash
# Install the Debian packages that qkvm and its bundled demo guest need.
#
#   sudo scripts/setup-host.sh
#
# Idempotent: when every package is already installed it does nothing and does
# not touch the network. Otherwise it runs `apt-get update` once and installs
# only the missing packages, without recommends and without questions.
set -euo pipefail

# qemu-system-x86, qemu-utils      the emulator and qemu-img
# busybox-static, cpio             the demo guest's userland and initramfs
# dpkg                             dpkg-deb, to unpack the demo guest's kernel
# kmod                             modinfo, to read the kernel modules' dependencies
# dnsmasq-base, nftables, iproute2 DHCP/DNS, NAT and taps/bridges for networks
# gzip                             compresses the initramfs
# xorriso                          reads installer ISOs (virt-install --location) without mounting;
#                                  writes cloud-init NoCloud seeds (qkvm image, src/image/seed.ts)
# openssh-client, openssh-server   --connect, migration to other hosts, qkvm ssh (the tests run their own sshd)
# openssl                          create --password-stdin hashes with openssl passwd -6
# mmdebstrap, e2fsprogs            qkvm image build debian-12: the root tree, then mke2fs -d
# tcpdump                          reads the pcap of `lab capture` (tests)
# graphviz                         dot: `qkvm lab graph --format svg|png`
# chromium                         headless browser: the web console's and the lab graph's tests
#                                  (playwright-core drives /usr/bin/chromium; never a downloaded one)
# grub-pc-bin                      grub-mkrescue: `npm run bench -- image` times a grub boot
#                                  against direct kernel boot (binaries only: no boot loader
#                                  of this host is touched)
# libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients
#                                  the interop tests boot `qkvm export --format libvirt` output
#                                  under a private libvirtd (qkvm itself never needs libvirt)
PACKAGES=(
  qemu-system-x86 qemu-utils busybox-static cpio dpkg kmod
  dnsmasq-base nftables iproute2 gzip xorriso
  openssh-client openssh-server openssl
  mmdebstrap e2fsprogs
  tcpdump graphviz chromium grub-pc-bin
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
)

die() {
  echo "setup-host: $*" >&2
  exit 1
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  die "this script needs a Debian or Ubuntu host (dpkg-query and apt-get were not found).
Install these packages, or their equivalents, by hand: ${PACKAGES[*]}"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-host: all packages are installed: ${PACKAGES[*]}"
  exit 0
fi

echo "setup-host: missing packages: ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
  die "installing packages needs root. Run: sudo $0
(or install them yourself: apt-get install --no-install-recommends ${missing[*]})"
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for the dpkg lock when another apt run holds it, rather than failing.
lock_opts=(-o DPkg::Lock::Timeout=120)
apt_opts=(-y -q "${lock_opts[@]}" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

echo "setup-host: apt-get update"
apt-get update -q "${lock_opts[@]}" || die "apt-get update failed (is a Debian mirror reachable?)"

# Packages with daemons (sshd) must not start them on this host: a policy-rc.d that
# says "no" while apt runs, removed afterwards only if this script made it.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# made by qkvm setup-host.sh while it installs packages\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT

echo "setup-host: apt-get install ${missing[*]}"
apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" \
  || die "apt-get install failed for: ${missing[*]}"

# Check that everything really is there now.
still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || still+=("$pkg")
done
[ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"

echo "setup-host: done"
