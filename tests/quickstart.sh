#!/bin/bash
# The ctest test "quickstart": README's first command, proven in CI.
#
#   tests/quickstart.sh BUILD_DIR
#
# Inside a private network namespace (so the standard ports 5000, 5672, ...
# cannot clash with anything), from an empty state directory:
#   1. scripts/quickstart.sh --state DIR --build BUILD_DIR brings everything up;
#   2. every listener answers its version document and /healthcheck, and
#      `openstack token issue / catalog list / flavor list / image list` work
#      with DIR/admin-openrc.sh;
#   3. a second quickstart run is safe: it leaves the running daemon alone and
#      the same credentials still work;
#   4. quickstart --stop stops exactly what it started: no process is left
#      in the namespace and the pid files are gone.
# The namespace and the state directory are removed on every exit path.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
NS="ms-qs-$$"
if [ "$(id -u)" -ne 0 ]; then
    echo "quickstart test: needs root to create network namespace $NS" >&2
    exit 2
fi
STATE=$(mktemp -d /tmp/ms-qs-XXXXXX) || exit 2

cleanup() {
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    if [ -n "$pids" ]; then
        echo "quickstart test: killing leftover processes in $NS: $pids" >&2
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null
        sleep 2
        pids=$(ip netns pids "$NS" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null
    if [ -n "${MS_KEEP_STATE:-}" ]; then
        echo "quickstart test: state kept in $STATE" >&2
    else
        rm -rf "$STATE"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "quickstart test: FAILED: $*" >&2
    tail -n 40 "$STATE/monostackd.log" >&2 2>/dev/null
    exit 1
}
step() { printf '\n--- quickstart test: %s\n' "$*"; }

ip netns add "$NS" || exit 2
ip netns exec "$NS" ip link set lo up || exit 2

in_ns() {
    ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
        -u no_proxy -u NO_PROXY -u all_proxy -u OS_CLOUD "$@"
}

check_clients() {
    in_ns bash -c '
        set -e
        for v in $(env | sed -n "s/^\(OS_[A-Z_]*\)=.*/\1/p"); do unset "$v"; done
        . "$1/admin-openrc.sh"
        openstack token issue -f value -c id >/dev/null
        openstack catalog list
        openstack flavor list
        openstack image list' _ "$STATE" || fail "the openstack CLI with admin-openrc.sh"
    local pair port code
    for pair in identity:5000 image:9292 compute:8774 volume:8776 network:9696 metadata:8775; do
        port=${pair#*:}
        code=$(in_ns curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
        case "$code" in 200 | 300) ;; *) fail "${pair%%:*} GET / answered $code" ;; esac
        code=$(in_ns curl -s -o /dev/null -w '%{http_code}' \
            "http://127.0.0.1:$port/healthcheck")
        [ "$code" = 200 ] || fail "${pair%%:*} GET /healthcheck answered $code"
    done
}

t0=$SECONDS
step "first run from an empty state directory $STATE"
in_ns "$SRC/scripts/quickstart.sh" --state "$STATE" --build "$BUILD_DIR" ||
    fail "quickstart.sh exited $?"
for f in monostack.conf admin-openrc.sh admin-password db-password monostackd.pid; do
    [ -s "$STATE/$f" ] || fail "$STATE/$f is missing"
done
for f in admin-openrc.sh admin-password db-password monostack.conf; do
    mode=$(stat -c %a "$STATE/$f")
    [ "$mode" = 600 ] || fail "$STATE/$f has mode $mode, not 600"
done
pid=$(cat "$STATE/monostackd.pid")
step "clients against the running stack (first run took $((SECONDS - t0)) s)"
check_clients

step "second run: safe, leaves the running daemon alone"
password=$(cat "$STATE/admin-password")
in_ns "$SRC/scripts/quickstart.sh" --state "$STATE" --build "$BUILD_DIR" ||
    fail "second quickstart.sh run exited $?"
[ "$(cat "$STATE/monostackd.pid")" = "$pid" ] || fail "the second run restarted monostackd"
[ "$(cat "$STATE/admin-password")" = "$password" ] || fail "the admin password changed"
check_clients

step "--stop"
in_ns "$SRC/scripts/quickstart.sh" --state "$STATE" --stop || fail "quickstart.sh --stop exited $?"
left=$(ip netns pids "$NS" 2>/dev/null)
if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    ps -o pid,args -p $(echo $left | tr ' ' ',') >&2
    fail "processes left running after --stop"
fi
for f in monostackd.pid mysql.pid rabbitmq.pid; do
    [ ! -e "$STATE/$f" ] || fail "$STATE/$f left behind by --stop"
done
kill -0 "$pid" 2>/dev/null && fail "monostackd (pid $pid) still running"
step "passed in $((SECONDS - t0)) s"
exit 0
