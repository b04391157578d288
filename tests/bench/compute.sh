#!/bin/bash
# Compute (Nova v2.1) benchmark against the libvirt test:///default driver:
#  1. POST /servers latency p50/p99 over N creates back to back (the request
#     only writes rows and a task and answers 202; target about 1 ms; the
#     builds run behind them), one at a time on an idle stack, and while the
#     count grows to 1000; beside one flushed MariaDB commit, a reply that
#     touches no database and one that runs a single SELECT;
#  2. create->ACTIVE through the API (K single servers one after another on
#     an otherwise idle stack, and the time for the whole batch of N), beside
#     the physical floor of a build on this driver measured in the same run:
#     define+start of the same domain XML directly through libvirt (a tiny
#     ctypes binding of libvirt.so.0, test:///default in this process) and
#     the qcow2 overlay (qemu-img create over the same cached image);
#  3. GET /servers/detail and GET /servers with N and 1000 servers, with and
#     without ?limit, p50/p99 over R requests (target: < 20 ms for a list of
#     hundreds of objects);
#  4. the daemon's RSS idle (started, image uploaded, no servers; target
#     < 40 MiB) and after the run, and its peak (VmHWM);
#  5. the lists again with BENCH_BIG (10,000) servers: the servers past
#     BENCH_TOTAL are made by POST /servers with min_count = max_count = 100
#     (Nova's multiple create: the same API path, validation, quota check
#     and one build task per server, 100 per request) and built by the
#     workers like the others; a list without ?limit answers at most 1000
#     (Nova's max_limit), so this shows the cost of a page in a big table.
#
#   tests/bench/compute.sh [BUILD_DIR]        (default: build)
#   env: BENCH_N (200), BENCH_K (20), BENCH_R (50), BENCH_TOTAL (1000),
#        BENCH_BIG (10000; 0 skips part 5)
#
# Runs in its own network namespace ms-bench-cpu-<pid> with its own MariaDB,
# RabbitMQ and daemon (the functional tier's Stack, configured as its compute
# module: [libvirt] uri = test:///default), traffic on its loopback only;
# everything is stopped (by pid) and removed on every exit path. Differences
# from the functional configuration, for the benchmark only: log_level WARNING
# (as identity.sh), quotas unlimited and allocation ratios 1000 so that 1000
# m1.tiny servers fit on the test driver's small fake host. Every loop
# is bounded in count and in time; the whole run in BENCH_TIMEOUT (1800 s).
set -uo pipefail

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd) || exit 2
NS="ms-bench-cpu-$$"

if [ "$(id -u)" -ne 0 ]; then
    echo "compute.sh: needs root to create network namespace $NS" >&2
    exit 2
fi
for t in python3 qemu-img mariadb; do
    command -v "$t" >/dev/null || { echo "compute.sh: $t is missing (scripts/setup.sh)" >&2; exit 2; }
done
[ -x "$BUILD_DIR/monostackd" ] || { echo "compute.sh: no $BUILD_DIR/monostackd (build first)" >&2; exit 2; }

ROOT=$(mktemp -d /var/tmp/ms-bench-cpu.XXXXXX) || exit 2

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
    rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || exit 2
ip netns exec "$NS" ip link set lo up || exit 2

# timeout sends SIGTERM, which the functional conftest turns into
# KeyboardInterrupt: the finally below still stops the stack.
timeout "${BENCH_TIMEOUT:-1800}" ip netns exec "$NS" env -u http_proxy -u https_proxy \
    -u HTTP_PROXY -u HTTPS_PROXY -u no_proxy -u NO_PROXY \
    MS_BUILD_DIR="$BUILD_DIR" MS_SOURCE_DIR="$SRC_DIR" BENCH_ROOT="$ROOT" \
    BENCH_N="${BENCH_N:-200}" BENCH_K="${BENCH_K:-20}" BENCH_R="${BENCH_R:-50}" \
    BENCH_TOTAL="${BENCH_TOTAL:-1000}" BENCH_BIG="${BENCH_BIG:-10000}" \
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SRC_DIR/tests/functional" \
    /usr/bin/python3 - <<'EOF'
import ctypes
import http.client
import json
import math
import os
import subprocess
import sys
import time

from conftest import Stack, http_session

N = int(os.environ["BENCH_N"])          # creates timed for POST latency
K = int(os.environ["BENCH_K"])          # single create->ACTIVE samples
R = int(os.environ["BENCH_R"])          # requests per list variant
TOTAL = max(int(os.environ["BENCH_TOTAL"]), N + K)
BIG = int(os.environ["BENCH_BIG"])      # servers for part 5 (0: skip)
if BIG:
    BIG = max(BIG, TOTAL)
MULTI = 100                             # servers per multiple-create request
SRC = os.environ["MS_SOURCE_DIR"]
root = os.environ["BENCH_ROOT"]
LIST_LIMIT = 100
WAIT_S = 600                            # bound of every wait for ACTIVE


class BenchStack(Stack):
    def config_text(self, overrides=None):
        o = {"DEFAULT": {"log_level": "WARNING"},
             "libvirt": {"uri": "test:///default", "virt_type": "qemu"},
             "compute": {"quota_instances": "-1", "quota_cores": "-1", "quota_ram": "-1",
                         "cpu_allocation_ratio": "1000", "ram_allocation_ratio": "1000",
                         "disk_allocation_ratio": "1000"}}
        for sec, opts in (overrides or {}).items():
            o.setdefault(sec, {}).update(opts)
        return Stack.config_text(self, o)


def kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


def fmt(xs):
    return "p50 %7.2f  p99 %7.2f  max %7.2f ms" % (pct(xs, 50), pct(xs, 99), max(xs))


class Api:
    """One keep-alive connection to the compute listener; req() returns
    (milliseconds from send to the last body byte, status, body bytes)."""

    def __init__(self, token):
        self.token = token
        self.c = http.client.HTTPConnection("127.0.0.1", 8774, timeout=60)

    def req(self, method, path, body=None):
        h = {"X-Auth-Token": self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.c.request(method, "/v2.1" + path, body=data, headers=h)
            r = self.c.getresponse()
            out = r.read()
        except (http.client.HTTPException, OSError):
            self.c.close()          # one retry on a fresh connection
            t0 = time.perf_counter()
            self.c.request(method, "/v2.1" + path, body=data, headers=h)
            r = self.c.getresponse()
            out = r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.getheader("Connection", "").lower() == "close":
            self.c.close()
        return ms, r.status, out


def create(api, name, image):
    ms, st, out = api.req("POST", "/servers", {"server": {
        "name": name, "flavorRef": "1", "imageRef": image}})
    if st != 202:
        raise RuntimeError("POST /servers answered %d: %s" % (st, out[:300]))
    return ms, json.loads(out)["server"]["id"]


FAULTS = {}                             # server id -> fault message of a build in ERROR
LV_KIB_PER_DOMAIN = None                # RSS the test driver keeps per domain


def note_error(api, sid):
    if sid not in FAULTS:
        _, _, o = api.req("GET", "/servers/" + sid)
        f = json.loads(o)["server"].get("fault") or {}
        FAULTS[sid] = "%s %s" % (f.get("code", "?"), f.get("message", "?"))


def wait_all_active(api, ids, what):
    """Seconds until every id is ACTIVE or ERROR (bounded by WAIT_S); an
    ERROR is recorded in FAULTS and reported, not fatal."""
    t0 = time.monotonic()
    want = set(ids)
    while True:
        _, st, out = api.req("GET", "/servers/detail?limit=1000")
        if st != 200:
            raise RuntimeError("GET /servers/detail answered %d" % st)
        states = {s["id"]: s["status"] for s in json.loads(out)["servers"]}
        if all(states.get(i) in ("ACTIVE", "ERROR") for i in want):
            for i in want:
                if states[i] == "ERROR":
                    note_error(api, i)
            return time.monotonic() - t0
        if time.monotonic() - t0 > WAIT_S:
            n = sum(states.get(i) == "ACTIVE" for i in want)
            raise RuntimeError("%s: only %d/%d ACTIVE after %ds" % (what, n, len(want), WAIT_S))
        time.sleep(0.1)


def wait_none_building(api, what):
    """Seconds until no server of the project is in BUILD (bounded by
    WAIT_S), for more servers than one page shows; the ones in ERROR are
    recorded in FAULTS."""
    t0 = time.monotonic()
    while True:
        _, st, out = api.req("GET", "/servers?status=BUILD&limit=1")
        if st != 200:
            raise RuntimeError("GET /servers?status=BUILD answered %d" % st)
        if not json.loads(out)["servers"]:
            break
        if time.monotonic() - t0 > WAIT_S:
            raise RuntimeError("%s: servers still in BUILD after %ds" % (what, WAIT_S))
        time.sleep(0.5)
    marker = ""
    while True:                         # pages of servers in ERROR, if any
        _, st, out = api.req("GET", "/servers?status=ERROR&limit=1000" + marker)
        page = json.loads(out)["servers"]
        for s in page:
            note_error(api, s["id"])
        if len(page) < 1000:
            break
        marker = "&marker=" + page[-1]["id"]
    return time.monotonic() - t0


def libvirt_reference(n):
    """ms per defineXML+create of the daemon's domain XML shape (the unit
    tier's expected virt_domain_xml output) on test:///default in this
    process, through libvirt.so.0 directly; None when it cannot be loaded."""
    try:
        lv = ctypes.CDLL("libvirt.so.0")
    except OSError as e:
        return None, str(e)
    vp = ctypes.c_void_p
    lv.virConnectOpen.restype = vp
    lv.virConnectOpen.argtypes = [ctypes.c_char_p]
    lv.virDomainDefineXML.restype = vp
    lv.virDomainDefineXML.argtypes = [vp, ctypes.c_char_p]
    lv.virDomainCreate.argtypes = [vp]
    lv.virDomainFree.argtypes = [vp]
    lv.virConnectClose.argtypes = [vp]
    conn = lv.virConnectOpen(b"test:///default")
    if not conn:
        return None, "virConnectOpen(test:///default) failed"
    global LV_KIB_PER_DOMAIN
    xml = open(os.path.join(SRC, "tests/unit/data/compute_domain.xml")).read()
    docs = [xml.replace("instance-0000002a", "instance-%08x" % (0x10000 + i)).replace(
        "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "6f1b2c3d-4e5f-4a6b-8c7d-%012x" % i).encode() for i in range(n)]
    lat = [0.0] * n                     # allocated before the RSS is read
    rss0 = kib(os.getpid(), "VmRSS")
    try:
        for k, d in enumerate(docs):
            t0 = time.perf_counter()
            dom = lv.virDomainDefineXML(conn, d)
            if not dom or lv.virDomainCreate(dom) != 0:
                return None, "define/start failed"
            lat[k] = (time.perf_counter() - t0) * 1000
            lv.virDomainFree(dom)
        # What the driver keeps per running domain, for part 4.
        LV_KIB_PER_DOMAIN = (kib(os.getpid(), "VmRSS") - rss0) / float(n)
    finally:
        lv.virConnectClose(conn)
    return lat, None


def commit_reference(st, n):
    """Mean ms of one autocommit INSERT (an InnoDB commit, flushed) on the
    stack's MariaDB: one client session with n INSERTs minus one without."""
    def run(k):
        sql = ("CREATE DATABASE IF NOT EXISTS benchref; USE benchref; "
               "CREATE TABLE IF NOT EXISTS t (id INT AUTO_INCREMENT PRIMARY KEY, "
               "v VARCHAR(64)) ENGINE=InnoDB; " + "INSERT INTO t (v) VALUES ('x'); " * k)
        t0 = time.perf_counter()
        subprocess.run(["mariadb", "--no-defaults", "-S", st.db_socket, "-uroot", "-e", sql],
                       check=True, capture_output=True, timeout=120)
        return (time.perf_counter() - t0) * 1000
    run(0)
    empty = min(run(0) for _ in range(3))
    return max(0.0, (run(n) - empty) / n)


def qemu_img_reference(base, n, work):
    lat = []
    for i in range(n):
        disk = os.path.join(work, "ref-%d.qcow2" % i)
        t0 = time.perf_counter()
        subprocess.run(["qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b", base, disk,
                        "1G"], check=True, capture_output=True, timeout=60)
        lat.append((time.perf_counter() - t0) * 1000)
        os.unlink(disk)
    return lat


st = BenchStack(root)
out = []
try:
    t_start = time.monotonic()
    st.start()
    pid = st.daemon_pid()
    s = http_session()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": st.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    token = s.post("http://127.0.0.1:5000/v3/auth/tokens", json=body,
                   timeout=30).headers["X-Subject-Token"]
    img_file = os.path.join(root, "cirros.qcow2")
    subprocess.run(["qemu-img", "create", "-f", "qcow2", img_file, "64M"], check=True,
                   capture_output=True)
    h = {"X-Auth-Token": token}
    image = s.post("http://127.0.0.1:9292/v2/images", headers=h, timeout=30, json={
        "name": "bench", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"}).json()["id"]
    with open(img_file, "rb") as f:
        r = s.put("http://127.0.0.1:9292/v2/images/%s/file" % image, data=f, timeout=60,
                  headers={"X-Auth-Token": token,
                           "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    api = Api(token)
    for _ in range(300):                   # the compute node row (first heartbeat)
        _, code, hv = api.req("GET", "/os-hypervisors")
        if code == 200 and json.loads(hv)["hypervisors"]:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("no hypervisor registered after 30 s")
    print("stack up in %.1f s (daemon serving %.3f s after spawn)" % (
        time.monotonic() - t_start, st.start_seconds))
    time.sleep(1)
    rss_idle = kib(pid, "VmRSS")

    # 1. POST /servers, N back to back (the builds run behind them)
    print("==> %d POST /servers" % N)
    post_lat, ids = [], []
    t0 = time.monotonic()
    for i in range(N):
        ms, sid = create(api, "b%d" % i, image)
        post_lat.append(ms)
        ids.append(sid)
    batch_post_s = time.monotonic() - t0
    batch_s = batch_post_s + wait_all_active(api, ids, "first batch")

    # 3. lists
    def lists(count):
        res = []
        for path in ("/servers/detail", "/servers/detail?limit=%d" % LIST_LIMIT,
                     "/servers", "/servers?limit=%d" % LIST_LIMIT):
            for _ in range(3):
                api.req("GET", path)                     # warm-up
            lat, size, got = [], 0, 0
            for _ in range(R):
                ms, code, o = api.req("GET", path)
                if code != 200:
                    raise RuntimeError("GET %s answered %d" % (path, code))
                lat.append(ms)
                size = len(o)
            got = len(json.loads(o)["servers"])
            res.append((path, got, size, lat))
        return res

    print("==> lists with %d servers, %d requests each" % (len(ids), R))
    lists_small = lists(len(ids))
    n_small = len(ids)

    # 2. K single servers, create->ACTIVE each, on an idle stack
    print("==> %d single create->ACTIVE" % K)
    single, post_idle = [], []
    for i in range(K):
        t0 = time.perf_counter()
        ms, sid = create(api, "s%d" % i, image)
        post_idle.append(ms)
        deadline = time.monotonic() + 60
        while True:
            _, code, o = api.req("GET", "/servers/" + sid)
            status = json.loads(o)["server"]["status"] if code == 200 else "?"
            if status == "ACTIVE":
                single.append((time.perf_counter() - t0) * 1000)
                break
            if status == "ERROR":
                note_error(api, sid)
                break
            if time.monotonic() > deadline:
                raise RuntimeError("server %s still %s after 60 s" % (sid, status))
            time.sleep(0.002)
        ids.append(sid)

    # The floor under a create on this machine, same client and connection:
    # a reply without the database, and one with a single indexed SELECT.
    floor_http, floor_sql = [], []
    for _ in range(K):
        floor_http.append(api.req("GET", "/")[0])
        time.sleep(0.002)
        floor_sql.append(api.req("GET", "/flavors/1")[0])
        time.sleep(0.002)

    base = os.path.join(st.state_dir, "instances", "_base", image)
    qimg = qemu_img_reference(base, K, os.path.join(root, "state"))
    lvlat, lverr = libvirt_reference(N)
    commit_ms = commit_reference(st, N)

    more = TOTAL - len(ids)
    print("==> %d more POST /servers (to %d)" % (more, TOTAL))
    post_more = []
    for i in range(more):
        ms, sid = create(api, "m%d" % i, image)
        post_more.append(ms)
        ids.append(sid)
    wait_all_active(api, ids, "second batch")
    print("==> lists with %d servers, %d requests each" % (len(ids), R))
    lists_big = lists(len(ids))
    rss_after = kib(pid, "VmRSS")
    hwm = kib(pid, "VmHWM")
    time.sleep(2)
    rss_settled = kib(pid, "VmRSS")

    # 5. a big table, filled by multiple create (see the header)
    lists_huge, n_huge, multi_lat, multi_s, big_wait_s = [], 0, [], 0.0, 0.0
    if BIG > len(ids):
        # Root disk 0: the fake host's disk (its state dir's filesystem, times
        # the allocation ratio) would not hold 10,000 1 GiB disks.
        _, st_, o = api.req("POST", "/flavors", {"flavor": {
            "name": "bench.nano", "id": "bench-nano", "ram": 64, "vcpus": 1, "disk": 0}})
        if st_ != 200:
            raise RuntimeError("flavor create answered %d: %s" % (st_, o[:300]))
        reqs = -(-(BIG - len(ids)) // MULTI)
        print("==> %d POST /servers with min_count = max_count = %d (to %d)" % (
            reqs, MULTI, len(ids) + reqs * MULTI))
        t0 = time.monotonic()
        for i in range(reqs):
            ms, st_, o = api.req("POST", "/servers", {"server": {
                "name": "big%d" % i, "flavorRef": "bench-nano", "imageRef": image,
                "min_count": MULTI, "max_count": MULTI}})
            if st_ != 202:
                raise RuntimeError("multiple create answered %d: %s" % (st_, o[:300]))
            multi_lat.append(ms)
        multi_s = time.monotonic() - t0
        big_wait_s = wait_none_building(api, "big batch")
        n_huge = len(ids) + reqs * MULTI
        print("==> lists with %d servers, %d requests each" % (n_huge, R))
        lists_huge = lists(n_huge)
    rss_big = kib(pid, "VmRSS")
    hwm_big = kib(pid, "VmHWM")

    P = print
    P("\ncompute, test:///default, %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
    P("\n1. POST /servers (202; rows + task; target about 1 ms)")
    P("   %-58s %s" % ("%d creates back to back, 0->%d servers" % (N, N), fmt(post_lat)))
    P("   %-58s %s" % ("%d creates one at a time, idle stack" % K, fmt(post_idle)))
    P("   %-58s %.2f ms (mean of %d)" % ("reference: MariaDB autocommit INSERT (flushed)",
                                         commit_ms, N))
    P("   %-58s %s" % ("reference: GET /v2.1/ (no database), same client", fmt(floor_http)))
    P("   %-58s %s" % ("reference: GET /v2.1/flavors/1 (one SELECT)", fmt(floor_sql)))
    if post_more:
        P("   %-58s %s" % ("%d creates back to back, %d->%d servers" % (more, n_small + K, len(ids)),
                           fmt(post_more)))
    P("\n2. create->ACTIVE (physical floor: overlay + define/start)")
    P("   %-58s %s" % ("API, one at a time (n=%d, poll 2 ms)" % K, fmt(single) if single else "none ACTIVE"))
    P("   %-58s %.2f s (%.1f servers/s, POSTs took %.2f s)" % (
        "API, batch of %d until all ACTIVE" % N, batch_s, N / batch_s, batch_post_s))
    P("   %-58s %s" % ("qemu-img create overlay (n=%d)" % K, fmt(qimg)))
    if lvlat:
        P("   %-58s %s" % ("libvirt define+start direct (n=%d)" % N, fmt(lvlat)))
        P("   %-58s %.2f ms (p50 overlay + p50 define/start)" % (
            "   floor of one build", pct(qimg, 50) + pct(lvlat, 50)))
    else:
        P("   libvirt define+start direct: skipped (%s)" % lverr)
    if FAULTS:
        msgs = {}
        for m in FAULTS.values():
            msgs[m] = msgs.get(m, 0) + 1
        P("   BUILD ERRORS: %d of %d servers in ERROR (timings above include them):" % (
            len(FAULTS), max(len(ids), n_huge)))
        for m, c in msgs.items():
            P("     %4d x %s" % (c, m[:300]))
    else:
        P("   build errors: none (%d servers ACTIVE)" % max(len(ids), n_huge))
    P("\n3. lists, %d requests each (target < 20 ms for hundreds of objects)" % R)
    rows = [(n_small, lists_small), (len(ids), lists_big)]
    if lists_huge:
        rows.append((n_huge, lists_huge))
        P("   (the %d servers past %d were made by %d multiple creates of %d: p50 %.1f ms"
          " a request, %.1f s in all, then %.1f s until none was in BUILD; a list"
          " without ?limit answers at most 1000, Nova's max_limit)" % (
              n_huge - len(ids), len(ids), len(multi_lat), MULTI, pct(multi_lat, 50),
              multi_s, big_wait_s))
    for count, res in rows:
        for path, got, size, lat in res:
            P("   %-58s %s" % ("GET %s (%d servers, %d in reply, %d KiB)" % (
                path, count, got, size // 1024), fmt(lat)))
    P("\n4. monostackd RSS (target < 40 MiB idle)")
    P("   %-58s %6.1f MiB" % ("idle (image uploaded, no servers)", rss_idle / 1024))
    P("   %-58s %6.1f MiB, 2 s later %.1f MiB" % ("after the run (%d servers)" % len(ids),
                                                 rss_after / 1024, rss_settled / 1024))
    P("   %-58s %6.1f MiB" % ("peak (VmHWM)", hwm / 1024))
    if lists_huge:
        P("   %-58s %6.1f MiB, peak %.1f MiB" % ("after %d servers" % n_huge, rss_big / 1024,
                                                hwm_big / 1024))
    if LV_KIB_PER_DOMAIN is not None:
        P("   %-58s %6.1f KiB a domain, so %.1f MiB for %d servers" % (
            "reference: libvirt test driver, define+start in this process",
            LV_KIB_PER_DOMAIN, LV_KIB_PER_DOMAIN * max(len(ids), n_huge) / 1024,
            max(len(ids), n_huge)))
    P("   (the libvirt test:///default driver runs inside the daemon and keeps every"
      " domain it defined in memory: that share of the growth is the driver's)")
except BaseException:
    print("monostackd log tail:\n" + st.daemon_log()[-3000:], file=sys.stderr)
    raise
finally:
    errs = st.close()
    if errs:
        print("teardown problems:\n" + "\n".join(errs), file=sys.stderr)
EOF
rc=$?
[ "$rc" -eq 124 ] && echo "compute.sh: timed out after ${BENCH_TIMEOUT:-1800} s" >&2
exit "$rc"
