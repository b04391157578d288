#!/bin/bash
# Image data path benchmark: upload and download of a 1 GiB image through
# the Glance API (PUT/GET /v2/images/ID/file with curl), in MiB/s, beside dd
# copying the same bytes on the same filesystem in the same run, and the
# daemon's peak RSS growth during each transfer (VmHWM after resetting it
# through /proc/PID/clear_refs).
#
#   tests/bench/image.sh BUILD_DIR [SIZE_MIB]
#
# Targets (issue 4): at least 90 % of dd, peak RSS growth under 16 MiB.
# Runs in its own network namespace with its own MariaDB and RabbitMQ (the
# functional tier's Stack), removed on exit.
set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SIZE_MIB]" >&2
    exit 2
fi
BUILD_DIR=$(cd "$1" && pwd) || exit 2
SIZE_MIB=${2:-1024}
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
NS="ms-bench-img-$$"

if [ "$(id -u)" -ne 0 ]; then
    echo "image.sh: needs root to create network namespace $NS" >&2
    exit 2
fi

cleanup() {
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    if [ -n "$pids" ]; then
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

ip netns exec "$NS" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
    -u no_proxy -u NO_PROXY \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" SIZE_MIB="$SIZE_MIB" \
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC_DIR/tests/functional" \
    /usr/bin/python3 - <<'EOF'
import os
import shutil
import subprocess
import sys
import tempfile
import time

from conftest import Stack, http_session

size_mib = int(os.environ["SIZE_MIB"])
root = tempfile.mkdtemp(prefix="ms-bench-img-", dir="/var/tmp")
st = Stack(root)


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid):
    # "5" resets the peak RSS (VmHWM) to the current RSS
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0


def drop(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


try:
    st.start()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": st.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", json=body, timeout=30)
    token = r.headers["X-Subject-Token"]
    pid = st.daemon_pid()
    work = os.path.join(root, "work")      # same filesystem as the image store
    os.makedirs(work)
    src = os.path.join(work, "source.raw")
    subprocess.run(["dd", "if=/dev/urandom", "of=" + src, "bs=1M", "count=%d" % size_mib],
                   check=True, capture_output=True)
    subprocess.run(["cat", src], check=True, stdout=subprocess.DEVNULL)   # warm the cache
    nbytes = size_mib * 1024 * 1024

    # dd: the same bytes copied on the same filesystem, flushed like the store does
    ddout = os.path.join(work, "dd.out")
    dd_s = timed(["dd", "if=" + src, "of=" + ddout, "bs=1M", "conv=fsync"])
    drop(ddout)

    r = http_session().post("http://127.0.0.1:9292/v2/images", timeout=30,
                            headers={"X-Auth-Token": token},
                            json={"name": "bench", "disk_format": "raw",
                                  "container_format": "bare"})
    image_id = r.json()["id"]
    url = "http://127.0.0.1:9292/v2/images/%s/file" % image_id
    rss0 = status_kib(pid, "VmRSS")
    reset_peak(pid)
    up_s = timed(["curl", "-sS", "--fail", "-X", "PUT", "-T", src,
                  "-H", "Content-Type: application/octet-stream",
                  "-H", "X-Auth-Token: " + token, url])
    up_peak = status_kib(pid, "VmHWM") - rss0

    stored = os.path.join(st.state_dir, "images", image_id)
    dlout = os.path.join(work, "download.out")
    dd2_s = timed(["dd", "if=" + stored, "of=" + ddout, "bs=1M", "conv=fsync"])
    drop(ddout)
    rss1 = status_kib(pid, "VmRSS")
    reset_peak(pid)
    t0 = time.monotonic()
    subprocess.run(["curl", "-sS", "--fail", "-o", dlout, "-H", "X-Auth-Token: " + token,
                    url], check=True)
    fd = os.open(dlout, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    down_s = time.monotonic() - t0
    down_peak = status_kib(pid, "VmHWM") - rss1
    same = subprocess.run(["cmp", src, dlout]).returncode == 0

    mib = nbytes / 1048576.0
    rows = [
        ("dd copy (source -> fs, fsync)", mib / dd_s, None),
        ("API upload (PUT /file)", mib / up_s, up_peak),
        ("dd copy (store -> fs, fsync)", mib / dd2_s, None),
        ("API download (GET /file -> fs, fsync)", mib / down_s, down_peak),
    ]
    print("\nimage data path, %d MiB, %s" % (size_mib, time.strftime("%Y-%m-%d %H:%M:%S")))
    print("%-40s %10s %16s" % ("", "MiB/s", "peak RSS +KiB"))
    for name, rate, peak in rows:
        print("%-40s %10.1f %16s" % (name, rate, "" if peak is None else peak))
    print("upload   %.0f %% of dd (target >= 90 %%), RSS growth %.1f MiB (target < 16)" % (
        100 * dd_s / up_s, up_peak / 1024.0))
    print("download %.0f %% of dd (target >= 90 %%), RSS growth %.1f MiB (target < 16)" % (
        100 * dd2_s / down_s, down_peak / 1024.0))
    print("downloaded data identical: %s" % same)
    sys.exit(0 if same else 1)
finally:
    st.close()
    shutil.rmtree(root, ignore_errors=True)
EOF
