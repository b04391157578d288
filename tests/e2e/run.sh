#!/bin/bash
# Run the e2e tier: real guests under QEMU (TCG unless hardware KVM really
# works) driven through monostackd by the openstack CLI.
#
#   tests/e2e/run.sh BUILD_DIR [pytest args...]
#
# 1. Builds (or reuses, it is cached) the small guest image
#    BUILD_DIR/guest/monostack-guest.qcow2 with scripts/build-guest-image.sh.
# 2. Creates the network namespace ms-e2e-<pid> and starts a private libvirtd
#    inside it (PLATFORM.md §4): its own mount namespace with /run/libvirt,
#    /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt
#    bind-mounted from a temporary dir, qemu.conf with user=root,
#    security_driver=none and stdio_handler=file (no virtlogd here), and no
#    default network. Its socket is passed to pytest as MS_LIBVIRT_URI.
# 3. Runs pytest on tests/e2e inside the namespace; tests/e2e/conftest.py
#    reuses the functional tier's Stack (MariaDB + RabbitMQ + monostackd).
#
# Every exit path tears down what it made: domains destroyed and undefined,
# libvirtd killed by its pid file, anything left in the namespace killed,
# the namespace deleted, the temporary dir removed (kept with MS_KEEP_STATE=1).
# Guests get no network at all, and nothing leaves the namespace.
set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [pytest args...]" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd) || exit 2
shift
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
NS="ms-e2e-$$"

if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: needs root (network namespace, libvirtd, loop mount)" >&2
    exit 2
fi
for tool in libvirtd virsh qemu-system-x86_64 qemu-img unshare; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "e2e: $tool is missing (run scripts/setup.sh)" >&2
        exit 2
    fi
done

say() { printf 'e2e: %s\n' "$*" >&2; }
t_start=$SECONDS

IMAGE="$BUILD_DIR/guest/monostack-guest.qcow2"
if ! "$SRC_DIR/scripts/build-guest-image.sh" "$IMAGE"; then
    say "cannot build the guest image"
    exit 1
fi

RUN=$(mktemp -d /tmp/ms-e2e.XXXXXX) || exit 2
chmod 755 "$RUN"
LV="$RUN/libvirt"
URI="qemu:///system?socket=$LV/run/libvirt-sock"
ns_created=0
child=

cleanup() {
    local rc=$? pids d pid
    if [ -S "$LV/run/libvirt-sock" ]; then
        for d in $(virsh -c "$URI" list --all --name 2>/dev/null); do
            say "removing leftover domain $d"
            virsh -c "$URI" destroy "$d" >/dev/null 2>&1
            virsh -c "$URI" undefine --managed-save --nvram "$d" >/dev/null 2>&1 ||
                virsh -c "$URI" undefine "$d" >/dev/null 2>&1
        done
    fi
    if [ -s "$LV/run/libvirtd.pid" ]; then
        pid=$(cat "$LV/run/libvirtd.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
    fi
    if [ "$ns_created" = 1 ]; then
        pids=$(ip netns pids "$NS" 2>/dev/null)
        if [ -n "$pids" ]; then
            say "killing leftover processes in $NS: $(echo $pids)"
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null
            sleep 2
            pids=$(ip netns pids "$NS" 2>/dev/null)
            # shellcheck disable=SC2086
            [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
        fi
        pids=$(ip netns pids "$NS" 2>/dev/null)
        [ -z "$pids" ] || say "processes still in $NS after teardown: $(echo $pids)"
        ip netns del "$NS" 2>/dev/null
    fi
    if [ -n "${MS_KEEP_STATE:-}" ]; then
        say "state kept in $RUN"
    else
        rm -rf "$RUN"
    fi
    say "finished in $((SECONDS - t_start)) s (exit $rc)"
    exit $rc
}
on_signal() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        for _ in $(seq 1 30); do
            kill -0 "$child" 2>/dev/null || break
            sleep 1
        done
    fi
    exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

ip netns add "$NS" || exit 2
ns_created=1
ip netns exec "$NS" ip link set lo up || exit 2

# ---- private libvirtd (PLATFORM.md §4) ----
mkdir -p "$LV"/{run,lib,cache,log,etc}
cp -a /etc/libvirt/. "$LV/etc/"
rm -f "$LV"/etc/qemu/networks/autostart/*.xml      # no default network / virbr0
cat >> "$LV/etc/qemu.conf" <<'CONF'

# monostack e2e: private libvirtd as root, no virtlogd, no security driver.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
CONF
printf 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n' >> "$LV/etc/libvirtd.conf"
cat > "$LV/start.sh" <<SH
#!/bin/sh
set -e
mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
mount --bind "$LV/run" /run/libvirt
mount --bind "$LV/lib" /var/lib/libvirt
mount --bind "$LV/cache" /var/cache/libvirt
mount --bind "$LV/log" /var/log/libvirt
mount --bind "$LV/etc" /etc/libvirt
exec libvirtd -d --pid-file "$LV/run/libvirtd.pid"
SH
chmod 755 "$LV/start.sh"
t0=$SECONDS
if ! ip netns exec "$NS" unshare -m --propagation private "$LV/start.sh"; then
    say "libvirtd did not start"
    exit 1
fi
ready=0
for _ in $(seq 1 240); do
    if virsh -c "$URI" version >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
done
if [ "$ready" != 1 ]; then
    say "libvirtd not answering on $URI after 120 s; log tail:"
    tail -n 30 "$LV/log/libvirtd.log" >&2 2>/dev/null
    exit 1
fi
say "libvirtd ready in $((SECONDS - t0)) s at $URI"

# Sanitizer builds: the same settings as scripts/test.sh unless given.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cd "$SRC_DIR" || exit 2
ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
    -u no_proxy -u NO_PROXY -u OS_CLOUD \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" MS_NETNS="$NS" \
    MS_LIBVIRT_URI="$URI" MS_GUEST_IMAGE="$IMAGE" MS_E2E_RUN="$RUN" \
    PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider -rfEs tests/e2e "$@" &
child=$!
wait "$child"
rc=$?
child=
exit $rc
