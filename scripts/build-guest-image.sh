#!/bin/bash
# Build the small CirrOS-like guest image the e2e tier boots:
#
#   scripts/build-guest-image.sh [--force] OUT.qcow2
#
# A 64 MiB disk (compressed qcow2, about 16 MB): an MBR (syslinux mbr.bin) and
# one bootable ext4 partition LABEL=msroot holding extlinux, the Debian cloud
# kernel, a busybox initramfs that loads the virtio modules and switch_roots
# to /dev/vda1, and a busybox-static root. Its rcS brings up the first NIC
# with DHCP when there is one, asks the metadata service (169.254.169.254)
# for the instance id, ssh key and hostname, and then prints on ttyS0:
#
#   MONOSTACK-GUEST-READY ip=<addr|none> key=<yes|no> uptime=<s>
#
# preceded, when a config drive is attached, by
#
#   MONOSTACK-CONFIG-DRIVE uuid=<the uuid in openstack/latest/meta_data.json>
#
# Console login: root / monostack. Everything comes from Debian packages
# (busybox-static, extlinux, syslinux-common, e2fsprogs, fdisk, qemu-utils;
# the kernel is fetched with `apt-get download`). Needs root (loop mount for
# extlinux --install). See PLATFORM.md §3 for the pitfalls worked around here:
# extlinux cannot read sparse files or 64bit ext4; busybox wget -T segfaults.
#
# Cached: when OUT exists and was built by this very script (a stamp next to
# it holds the script's checksum and the kernel version), nothing is done.
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--force] OUT.qcow2" >&2
    exit 2
fi
OUT=$1
STAMP="$OUT.stamp"
log() { printf 'build-guest-image: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    echo "build-guest-image: needs root (loop mount for extlinux)" >&2
    exit 2
fi

# The newest cloud kernel the archive offers (the metapackage's dependency).
KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
       awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$KPKG" ]; then
    echo "build-guest-image: cannot find the cloud kernel package (apt-get update?)" >&2
    exit 1
fi
want_stamp="$(sha256sum "$0" | cut -d' ' -f1) $KPKG"
if [ "$force" = 0 ] && [ -s "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want_stamp" ]; then
    log "up to date: $OUT ($KPKG)"
    exit 0
fi

t0=$SECONDS
WORK=$(mktemp -d /tmp/ms-guest-image.XXXXXX)
MNT="$WORK/mnt"
LOOP=
cleanup() {
    if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT"; fi
    if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- kernel and modules ----
log "downloading $KPKG"
(cd "$WORK" && apt-get download -q "$KPKG" >/dev/null 2>"$WORK/apt.err") || {
    cat "$WORK/apt.err" >&2; exit 1; }
dpkg -x "$WORK"/"$KPKG"_*.deb "$WORK/kernel"
KVER=${KPKG#linux-image-}
KDIR="$WORK/kernel/lib/modules/$KVER"
[ -f "$WORK/kernel/boot/vmlinuz-$KVER" ] || { echo "no vmlinuz in $KPKG" >&2; exit 1; }
# The .deb has no modules.dep and kmod is not needed: busybox depmod.
busybox depmod -b "$WORK/kernel" "$KVER"

# ---- initramfs ----
INITRD="$WORK/initrd"
mkdir -p "$INITRD"/{bin,dev,proc,sys,newroot,lib/modules/"$KVER"}
cp /bin/busybox "$INITRD/bin/busybox"
for a in sh mount umount mkdir sleep cat echo modprobe insmod switch_root mdev ls; do
    ln -s busybox "$INITRD/bin/$a"
done
MODULES="virtio_pci virtio_blk virtio_net virtio_scsi virtio_console virtio_rng
         virtio_balloon button evdev isofs vfat ata_piix sr_mod"
# Copy each module with its dependencies (from modules.dep).
declare -A copied=()
add_module() {
    local name=$1 path dep
    path=$(awk -v m="$name" -F: '{n=$1; sub(/.*\//,"",n); sub(/\.ko.*$/,"",n);
           gsub(/-/,"_",n); mm=m; gsub(/-/,"_",mm); if (n==mm) {print $1; exit}}' \
           "$KDIR/modules.dep")
    [ -n "$path" ] || { log "module $name not in $KVER (skipped)"; return 0; }
    [ -z "${copied[$path]:-}" ] || return 0
    copied[$path]=1
    mkdir -p "$INITRD/lib/modules/$KVER/$(dirname "$path")"
    cp "$KDIR/$path" "$INITRD/lib/modules/$KVER/$path"
    for dep in $(awk -v p="$path" -F: '$1==p {print $2; exit}' "$KDIR/modules.dep"); do
        dep=${dep##*/}; dep=${dep%%.ko*}
        add_module "$dep"
    done
}
for m in $MODULES; do add_module "$m"; done
busybox depmod -b "$INITRD" "$KVER"
cat > "$INITRD/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci virtio_blk virtio_net virtio_scsi virtio_console virtio_rng \
         virtio_balloon button evdev isofs vfat ata_piix sr_mod; do
    modprobe "$m" 2>/dev/null
done
i=0
while [ ! -b /dev/vda1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda1 /newroot; then
    echo "initramfs: cannot mount /dev/vda1; dropping to a shell" > /dev/console
    exec sh
fi
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$INITRD/init"
(cd "$INITRD" && find . | cpio -o -H newc --quiet | gzip -9) > "$WORK/initrd.gz"

# ---- root filesystem ----
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,dev,proc,sys,run,tmp,var/log,root/.ssh,boot/extlinux,usr/share/udhcpc,mnt}
chmod 1777 "$ROOT/tmp"
chmod 700 "$ROOT/root" "$ROOT/root/.ssh"
cp /bin/busybox "$ROOT/bin/busybox"
chroot "$ROOT" /bin/busybox --install -s
cat > "$ROOT/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF
hash=$(openssl passwd -6 monostack)
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:%s:19000:0:99999:7:::\n' "$hash" > "$ROOT/etc/shadow"
chmod 600 "$ROOT/etc/shadow"
printf 'root:x:0:\n' > "$ROOT/etc/group"
printf 'ttyS0\n' > "$ROOT/etc/securetty"
printf 'monostack-guest\n' > "$ROOT/etc/hostname"
printf '/dev/vda1 / ext4 rw 0 1\nproc /proc proc defaults 0 0\n' > "$ROOT/etc/fstab"
cat > "$ROOT/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: configure the address, the default route and DNS.
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        : > /etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
        echo "dhcp bound $interface ip=$ip/${mask:-24} router=${router:-none}" > /dev/ttyS0
        ;;
esac
exit 0
EOF
chmod 755 "$ROOT/usr/share/udhcpc/default.script"
cat > "$ROOT/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# monostack guest init: mounts, network (DHCP on the first NIC, if any),
# the metadata service, then the ready marker on the serial console.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q " /dev " /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -o remount,rw /
hostname -F /etc/hostname
ip link set lo up
con=/dev/ttyS0
MD=http://169.254.169.254
fetch() { timeout 5 wget -q -O "$2" "$MD/$1" 2>/dev/null; }
addr=none
key=no
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
if [ -n "$nic" ]; then
    ip link set "$nic" up
    udhcpc -i "$nic" -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
    addr=$(ip -4 -o addr show dev "$nic" | awk '{print $4}' | cut -d/ -f1 | head -n 1)
    [ -n "$addr" ] || addr=none
fi
if [ "$addr" != none ]; then
    i=0
    while [ $i -lt 20 ] && ! fetch latest/meta-data/instance-id /run/instance-id; do
        sleep 1; i=$((i + 1))
    done
    if [ -s /run/instance-id ]; then
        echo "instance-id: $(cat /run/instance-id)" > $con
        if fetch latest/meta-data/public-keys/0/openssh-key /run/key && [ -s /run/key ]; then
            cat /run/key > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
            key=yes
        fi
        fetch latest/meta-data/hostname /run/hostname && [ -s /run/hostname ] &&
            hostname "$(cut -d. -f1 /run/hostname)"
        fetch openstack/latest/meta_data.json /run/meta_data.json
        if fetch latest/user-data /run/user-data && head -c 2 /run/user-data | grep -q '^#!'; then
            chmod 755 /run/user-data; /run/user-data > /run/user-data.log 2>&1
        fi
    fi
fi
# A config drive (ISO 9660 labelled config-2 on the IDE cdrom): print the
# instance uuid its meta_data.json holds.
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
if [ -b /dev/sr0 ] && mount -t iso9660 -o ro /dev/sr0 /mnt 2>/dev/null; then
    cd_uuid=$(sed -n 's/.*"uuid": "\([^"]*\)".*/\1/p' /mnt/openstack/latest/meta_data.json)
    echo "MONOSTACK-CONFIG-DRIVE uuid=${cd_uuid:-none}" > $con
    umount /mnt
fi
acpid 2>/dev/null
read up _ < /proc/uptime
echo "MONOSTACK-GUEST-READY ip=$addr key=$key uptime=$up" > $con
EOF
chmod 755 "$ROOT/etc/init.d/rcS"
# busybox acpid: the power button powers the guest off (ACPI shutdown).
mkdir -p "$ROOT/etc/acpi/PWRF"
printf '#!/bin/sh\npoweroff\n' > "$ROOT/etc/acpi/PWRF/00000080"
chmod 755 "$ROOT/etc/acpi/PWRF/00000080"
cat > "$ROOT/boot/extlinux/extlinux.conf" <<EOF
DEFAULT linux
TIMEOUT 1
PROMPT 0
LABEL linux
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.gz
  APPEND console=tty0 console=ttyS0,115200 root=/dev/vda1 rw quiet
EOF

# ---- disk: MBR + one ext4 partition (1 MiB .. 64 MiB) ----
DISK="$WORK/disk.img"
PART="$WORK/part.img"
truncate -s 63M "$PART"
# extlinux 6.04 reads neither 64bit ext4 nor metadata_csum (PLATFORM.md §3).
mkfs.ext4 -q -F -b 4096 -O ^64bit,^metadata_csum -L msroot -d "$ROOT" "$PART"
mkdir -p "$MNT"
LOOP=$(losetup -f --show "$PART")
mount -t ext4 "$LOOP" "$MNT"
# Not through mkfs -d: that makes the files sparse, which extlinux cannot load.
cp --sparse=never "$WORK/kernel/boot/vmlinuz-$KVER" "$MNT/boot/vmlinuz"
cp --sparse=never "$WORK/initrd.gz" "$MNT/boot/initrd.gz"
extlinux --install "$MNT/boot/extlinux" >/dev/null 2>&1
sync
umount "$MNT"
losetup -d "$LOOP"
LOOP=
truncate -s 1M "$DISK"
cat "$PART" >> "$DISK"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc status=none
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q --wipe-partitions never "$DISK" >/dev/null

mkdir -p "$(dirname "$OUT")"
qemu-img convert -q -c -f raw -O qcow2 "$DISK" "$OUT.part"
mv -f "$OUT.part" "$OUT"
echo "$want_stamp" > "$STAMP"
log "built $OUT ($(du -h "$OUT" | cut -f1), kernel $KVER) in $((SECONDS - t0)) s"
