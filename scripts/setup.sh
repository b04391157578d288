#!/bin/bash
# Install everything monostack needs to build, run and test on Debian 12:
# build dependencies, the runtime parts it drives (MariaDB, RabbitMQ, libvirt,
# QEMU, LVM, tgt, dnsmasq, iptables) and the test clients.
#
# Idempotent: when every package is already installed it changes nothing and
# does not even run `apt-get update`. Works without systemd: a policy-rc.d
# that forbids starting services is kept in place during the install, since
# monostack's scripts start private instances of the daemons by hand.
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libvirt-dev libmicrohttpd-dev libjansson-dev libmariadb-dev librabbitmq-dev
    uuid-dev libssl-dev libinih-dev libcmocka-dev
    # runtime parts
    mariadb-server mariadb-client rabbitmq-server amqp-tools
    libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils qemu-block-extra
    lvm2 tgt dnsmasq-base iptables iproute2
    # guest image build (scripts/build-guest-image.sh) for the e2e tier
    busybox-static extlinux syslinux-common e2fsprogs fdisk cpio openssl
    # config drives (ISO 9660, as Nova writes them)
    genisoimage
    # test clients and tools
    python3-openstackclient python3-openstacksdk python3-pytest python3-requests
    wrk nginx-light curl procps tempest
)

log() { printf 'setup: %s\n' "$*"; }

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi

# Keep apt from starting the services it installs (there may be no init
# system to start them with, and we never want the system instances).
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# installed by monostack scripts/setup.sh for the install\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log "installing ${#missing[@]} packages: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y -q --no-install-recommends "${missing[@]}"
log "done"
