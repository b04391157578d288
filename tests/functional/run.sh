#!/bin/bash
# Run the functional tier: pytest driving a real monostackd (with its own
# MariaDB and RabbitMQ) inside a private network namespace, so the standard
# ports (5000, 9292, ..., 3306, 5672) never clash with anything on the host.
#
#   tests/functional/run.sh BUILD_DIR [pytest args...]
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
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || exit 2
ip netns exec "$NS" ip link set lo up || exit 2

cd "$SRC_DIR" || exit 2
ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
    -u no_proxy -u NO_PROXY -u OS_CLOUD \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" MS_NETNS="$NS" \
    PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider -rfEs tests/functional "$@"
rc=$?
exit $rc
