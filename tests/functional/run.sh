#!/bin/bash
# Run the functional tier: pytest driving a real monostackd (with its own
# MariaDB and RabbitMQ) inside a private network namespace, so the standard
# ports (5000, 9292, ..., 3306, 5672) never clash with anything on the host.
#
#   tests/functional/run.sh BUILD_DIR [pytest args...]
#   (naming tests/functional/<file>.py[::test] runs only those tests)
#
# It uses the Debian python3 (/usr/bin/python3), which has python3-pytest,
# requests and the openstack CLI, whatever python3 comes first in PATH.
# The namespace ms-func-<pid> is removed on every exit path; anything still
# running inside it (it can only be what this run started) is killed first.
set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [pytest args...]" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd) || exit 2
shift
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
NS="ms-func-$$"

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: needs root to create network namespace $NS" >&2
    exit 2
fi

cleanup() {
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    if [ -n "$pids" ]; then
        echo "run.sh: killing leftover processes in $NS: $pids" >&2
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null
        sleep 2
        pids=$(ip netns pids "$NS" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null
}
child=
# pytest runs in the background and is waited for, so that a signal (ctest's
# timeout, ^C) is handled at once: pytest gets SIGTERM, which conftest.py turns
# into KeyboardInterrupt so the fixtures tear the stack down; whatever is left
# in the namespace is killed by cleanup.
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
ip netns exec "$NS" ip link set lo up || exit 2

# Sanitizer builds: the same settings as scripts/test.sh unless given.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Test files or node ids among the arguments run alone; else the whole tier.
targets=(tests/functional)
for a in "$@"; do
    case "$a" in tests/functional/*) targets=() ;; esac
done

cd "$SRC_DIR" || exit 2
ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
    -u no_proxy -u NO_PROXY -u OS_CLOUD \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" MS_NETNS="$NS" \
    PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider -rfEs "${targets[@]}" "$@" &
child=$!
wait "$child"
rc=$?
child=
exit $rc
