"""Compute behaviour the performance work must keep: server lists are
rendered server by server and their metadata fetched per page by keyset,
creates take fewer round trips (one lock upsert, multi-row metadata, the
"create" action written by the build task), so check exactly that: every
page of a list carries each server's own metadata and the same view as
GET /servers/{id}, odd characters survive the JSON writer, multiple create
stores everyone's metadata, the create action and its event appear, and
concurrent creates never exceed the instance quota.

Runs against the libvirt test:///default driver, in its own project, with
raw HTTP (requests) so the bytes of the list replies are what is parsed."""
import concurrent.futures
import json
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import http_session

COMPUTE = "http://127.0.0.1:8774"
IDENTITY = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def compute(stack):
    stack.write_config(overrides={"libvirt": {"uri": "test:///default",
                                              "virt_type": "qemu"}})
    stack.restart_daemon()
    stack.manage("bootstrap", "--admin-password", stack.admin_password,
                 "--public-url", "http://127.0.0.1")
    return stack


@pytest.fixture(scope="module")
def project(compute, osc):
    """A project of this module's own, with admin holding the admin role on
    it, and a token scoped to it."""
    name = "perf-" + uuid.uuid4().hex[:8]
    p = osc("project", "create", "--domain", "default", name, "-f", "json")
    osc("role", "add", "--project", name, "--user", "admin", "admin")
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"},
            "password": compute.admin_password}}},
        "scope": {"project": {"id": p["id"]}}}}
    r = http_session().post(IDENTITY + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    tok = r.headers["X-Subject-Token"]
    # Room for every server the tests below make (the default is 10).
    r = nova(tok, "PUT", "/v2.1/os-quota-sets/%s" % p["id"],
             json={"quota_set": {"instances": 50, "cores": 50}})
    assert r.status_code == 200, r.text
    return {"id": p["id"], "token": tok}


@pytest.fixture(scope="module")
def image_id(compute, osc):
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "64M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, "--public", "perf-test", "-f", "json")
    return img["id"]


def nova(token, method, path, **kw):
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    return http_session().request(method, COMPUTE + path, headers=headers, timeout=30, **kw)


def create(token, image, name, **extra):
    server = {"name": name, "flavorRef": "1", "imageRef": image}
    server.update(extra)
    r = nova(token, "POST", "/v2.1/servers", json={"server": server})
    assert r.status_code == 202, r.text
    return r


def wait_active(token, ids, tries=600):
    """Until every one of ids is ACTIVE; a build in ERROR fails with its fault."""
    st = {}
    for _ in range(tries):
        st = {i: nova(token, "GET", "/v2.1/servers/%s" % i).json()["server"] for i in ids}
        for s in st.values():
            assert s["status"] != "ERROR", s.get("fault")
        if all(s["status"] == "ACTIVE" for s in st.values()):
            return
        time.sleep(0.1)
    raise AssertionError("servers not ACTIVE: %s" % {i: s["status"] for i, s in st.items()})


def delete_all(token, ids):
    """Delete and wait until gone, so later tests find the host's capacity."""
    for i in ids:
        assert nova(token, "DELETE", "/v2.1/servers/%s" % i).status_code == 204
    for _ in range(600):
        if all(nova(token, "GET", "/v2.1/servers/%s" % i).status_code == 404 for i in ids):
            return
        time.sleep(0.1)
    raise AssertionError("servers not deleted")


def all_pages(token, path, limit):
    """Every server of a paginated list, following servers_links; each reply
    is parsed from its raw bytes."""
    out, marker, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = "%s%slimit=%d" % (path, sep, limit) + ("&marker=" + marker if marker else "")
        r = nova(token, "GET", url)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        body = json.loads(r.content.decode("utf-8"))
        page = body["servers"]
        out.extend(page)
        pages += 1
        assert pages < 100
        if len(page) < limit:
            assert "servers_links" not in body
            return out
        nxt = body["servers_links"][0]
        assert nxt["rel"] == "next" and ("marker=" + page[-1]["id"]) in nxt["href"]
        marker = page[-1]["id"]


ODD = {"quote": 'say "hi"', "backslash": "C:\\dir\\", "uni": "caf\u00e9 \u20ac \U0001F600",
       "ctl": "tab\there\nnewline", "slash": "a/b", "empty": "", "key with.dots:": "v"}


def test_list_pages_carry_each_servers_metadata(compute, project, image_id):
    tok = project["token"]
    metas = [{}, {"k": "v0"}, {"a": "1", "b": "2", "c": "3"}, ODD, {"only": "x" * 255},
             {}, {"z": "last"}]
    want = {}
    for n, m in enumerate(metas):
        r = create(tok, image_id, "plist-%d" % n, metadata=m)
        want[r.json()["server"]["id"]] = m
    wait_active(tok, want)
    # A change after create shows in the lists too.
    some = list(want)[1]
    r = nova(tok, "PUT", "/v2.1/servers/%s/metadata" % some,
             json={"metadata": {"k": "changed", "new": "y"}})
    assert r.status_code == 200, r.text
    want[some] = {"k": "changed", "new": "y"}

    for limit in (1, 2, 3, 1000):
        got = {s["id"]: s for s in all_pages(tok, "/v2.1/servers/detail", limit)
               if s["id"] in want}
        assert set(got) == set(want), "limit=%d" % limit
        for sid, m in want.items():
            assert got[sid]["metadata"] == m, "limit=%d server %s" % (limit, sid)
    # Newest first, each server once, the same pages without detail.
    listed = [s["id"] for s in all_pages(tok, "/v2.1/servers/detail", 2)]
    assert len(listed) == len(set(listed))
    assert [i for i in listed if i in want] == list(reversed(list(want)))
    brief = all_pages(tok, "/v2.1/servers", 3)
    assert [s["id"] for s in brief] == listed
    assert all(set(s) == {"id", "name", "links"} for s in brief)
    # A filter with a limit pages the same way.
    named = all_pages(tok, "/v2.1/servers/detail?name=plist-%5B0-3%5D", 2)
    assert sorted(s["name"] for s in named) == ["plist-0", "plist-1", "plist-2", "plist-3"]
    for s in named:
        assert s["metadata"] == want[s["id"]]
    delete_all(tok, want)


def test_list_entry_is_the_show_view(compute, project, image_id):
    tok = project["token"]
    ids = [create(tok, image_id, "pshow-%d" % n, metadata={"n": str(n)}).json()["server"]["id"]
           for n in range(3)]
    wait_active(tok, ids)
    listed = {s["id"]: s for s in all_pages(tok, "/v2.1/servers/detail", 1000)}
    for sid in ids:
        show = nova(tok, "GET", "/v2.1/servers/%s" % sid).json()["server"]
        assert listed[sid] == show
    delete_all(tok, ids)


def test_multiple_create_stores_everyones_metadata(compute, project, image_id):
    tok = project["token"]
    meta = {"role": "web", "tier": "front"}
    create(tok, image_id, "pmulti", metadata=meta, min_count=3, max_count=3)
    mine = [s for s in all_pages(tok, "/v2.1/servers/detail", 1000)
            if s["name"].startswith("pmulti-")]
    assert sorted(s["name"] for s in mine) == ["pmulti-1", "pmulti-2", "pmulti-3"]
    for s in mine:
        assert s["metadata"] == meta
        assert nova(tok, "GET", "/v2.1/servers/%s/metadata" % s["id"]).json() == \
            {"metadata": meta}
    wait_active(tok, [s["id"] for s in mine])
    delete_all(tok, [s["id"] for s in mine])


def test_create_action_and_event(compute, project, image_id):
    tok = project["token"]
    r = create(tok, image_id, "paction")
    sid = r.json()["server"]["id"]
    rid = r.headers["x-compute-request-id"]
    wait_active(tok, [sid])
    acts = nova(tok, "GET", "/v2.1/servers/%s/os-instance-actions" % sid).json()
    creates = [a for a in acts["instanceActions"] if a["action"] == "create"]
    assert len(creates) == 1
    assert creates[0]["request_id"] == rid
    assert creates[0]["project_id"] == project["id"]
    a = nova(tok, "GET", "/v2.1/servers/%s/os-instance-actions/%s" % (sid, rid)).json()
    ev = a["instanceAction"]["events"]
    assert [e["event"] for e in ev] == ["compute__do_build_and_run_instance"]
    assert ev[0]["result"] == "Success" and ev[0]["finish_time"]
    # Deleting adds its own action after the create.
    assert nova(tok, "DELETE", "/v2.1/servers/%s" % sid).status_code == 204
    acts = nova(tok, "GET", "/v2.1/servers/%s/os-instance-actions" % sid).json()
    assert [x["action"] for x in acts["instanceActions"]][:2] == ["delete", "create"]


def test_concurrent_creates_respect_the_instance_quota(compute, osc, image_id):
    name = "perfq-" + uuid.uuid4().hex[:8]
    p = osc("project", "create", "--domain", "default", name, "-f", "json")
    osc("role", "add", "--project", name, "--user", "admin", "admin")
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"},
            "password": compute.admin_password}}},
        "scope": {"project": {"id": p["id"]}}}}
    r = http_session().post(IDENTITY + "/v3/auth/tokens", json=body, timeout=30)
    tok = r.headers["X-Subject-Token"]
    r = nova(tok, "PUT", "/v2.1/os-quota-sets/%s" % p["id"],
             json={"quota_set": {"instances": 3}})
    assert r.status_code == 200, r.text

    def one(n):
        return nova(tok, "POST", "/v2.1/servers", json={"server": {
            "name": "pq-%d" % n, "flavorRef": "1", "imageRef": image_id}})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(one, range(8)))
    codes = sorted(x.status_code for x in replies)
    assert codes == [202] * 3 + [403] * 5, [x.text for x in replies]
    for x in replies:
        if x.status_code == 403:
            assert "Quota exceeded for instances" in x.json()["forbidden"]["message"]
    listed = nova(tok, "GET", "/v2.1/servers").json()["servers"]
    assert len(listed) == 3
    wait_active(tok, [s["id"] for s in listed])
    delete_all(tok, [s["id"] for s in listed])
