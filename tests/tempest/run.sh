#!/bin/bash
# Run OpenStack's own conformance suite (Debian's tempest) against a private
# monostack stack in a network namespace of its own.
#
#   tests/tempest/run.sh BUILD_DIR REGEX [REGEX...]
#   e.g. tests/tempest/run.sh build 'tempest\.api\.identity'
#
# Tests of APIs monostack does not serve are excluded by the reviewed
# list tests/tempest/exclude.txt; MS_TEMPEST_EXCLUDE=FILE names
# another list, MS_TEMPEST_EXCLUDE= (empty) runs everything.
#
# Prints tempest's summary (passed / skipped / failed) and keeps the whole
# log in BUILD_DIR/tempest-<timestamp>.log. ctest runs it (label tempest) for
# the identity and image APIs; the README records the latest counts.
set -uo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR REGEX [REGEX...]" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd) || exit 2
shift
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
NS="ms-tempest-$$"
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root for network namespace $NS" >&2; exit 2; }
command -v tempest >/dev/null || { echo "run.sh: tempest is not installed (apt-get install tempest)" >&2; exit 2; }

cleanup() {
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null && sleep 2
    pids=$(ip netns pids "$NS" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS" || exit 2
ip netns exec "$NS" ip link set lo up || exit 2
LOG="$BUILD_DIR/tempest-$(date +%Y%m%d-%H%M%S).log"
cd "$SRC_DIR" || exit 2
ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u OS_CLOUD \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 tests/tempest/run_tempest.py "$LOG" "$@"
