"""Compute microversions 2.2-2.79 as they change servers: each test asks
for versions on both sides of a change with the OpenStack-API-Version
header (raw HTTP, and the openstack CLI's --os-compute-api-version where
natural) and checks what Nova (Zed) does there. The daemon runs the libvirt
test:///default driver, as in test_compute.py."""
import base64
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import http_session

COMPUTE = "http://127.0.0.1:8774"
IDENTITY = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def image_id(compute, osc):
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "64M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, "--public", "mv-servers-img", "-f", "json")
    return img["id"]


def token_for(user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = http_session().post(IDENTITY + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def member(compute, osc):
    """(token, env) of a member of its own project."""
    pw = "Mv-member-1"
    osc("project", "create", "--domain", "default", "mv-proj", check=False)
    osc("user", "create", "--domain", "default", "--password", pw, "mv-user", check=False)
    osc("role", "add", "--project", "mv-proj", "--user", "mv-user", "member")
    return token_for("mv-user", pw, "mv-proj"), compute.env(user="mv-user", password=pw,
                                                            project="mv-proj")


def _mv_tuple(mv):
    return tuple(int(x) for x in mv.split("."))


def nova(token, method, path, mv=None, **kw):
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    if mv:
        headers["OpenStack-API-Version"] = "compute %s" % mv
    # From 2.37 a create must say which networks; these servers need none.
    body = kw.get("json")
    if method == "POST" and path == "/servers" and mv and _mv_tuple(mv) >= (2, 37) and \
            isinstance(body, dict) and isinstance(body.get("server"), dict):
        body["server"].setdefault("networks", "none")
    return http_session().request(method, COMPUTE + "/v2.1" + path, headers=headers,
                                  timeout=30, **kw)


def wait_server(token, sid, want="ACTIVE", mv="2.1", tries=400):
    s = None
    for _ in range(tries):
        r = nova(token, "GET", "/servers/%s" % sid, mv=mv)
        assert r.status_code == 200, r.text
        s = r.json()["server"]
        if s["status"] == want and not s.get("OS-EXT-STS:task_state"):
            return s
        assert s["status"] != "ERROR" or want == "ERROR", s
        time.sleep(0.1)
    raise AssertionError("server %s did not reach %s: %s" % (sid, want, s))


def create_server(token, image_id, name, mv="2.1", wait=True, **extra):
    body = {"name": name, "flavorRef": "1", "imageRef": image_id}
    body.update(extra)
    r = nova(token, "POST", "/servers", mv=mv, json={"server": body})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    if wait:
        wait_server(token, sid)
    return sid


def delete_server(token, sid):
    r = nova(token, "DELETE", "/servers/%s" % sid)
    assert r.status_code in (204, 404), r.text
    for _ in range(300):
        if nova(token, "GET", "/servers/%s" % sid).status_code == 404:
            return
        time.sleep(0.1)
    raise AssertionError("server %s was not deleted" % sid)


def action(token, sid, body, mv="2.1"):
    return nova(token, "POST", "/servers/%s/action" % sid, mv=mv, json=body)


@pytest.fixture(scope="module")
def server(compute, admin_token, image_id):
    """A server shared by the read-mostly tests (they put it back as found)."""
    sid = create_server(admin_token, image_id, "mv-shared", user_data=base64.b64encode(
        b"#!/bin/sh\necho hi\n").decode())
    yield sid
    delete_server(admin_token, sid)


def test_version_document_reports_max(compute, admin_token):
    r = http_session().get(COMPUTE + "/v2.1", timeout=10)
    assert r.json()["version"]["version"] == "2.93"
    r = nova(admin_token, "GET", "/servers", mv="2.93")
    assert r.status_code == 200 and r.headers["OpenStack-API-Version"] == "compute 2.93"
    # 2.46: both request id headers, whatever the version
    assert r.headers["X-OpenStack-Request-ID"] == r.headers["X-Compute-Request-ID"]
    assert nova(admin_token, "GET", "/servers", mv="2.94").status_code == 406


def test_metadata_over_quota_is_403(compute, admin_token, image_id):
    limits = nova(admin_token, "GET", "/limits").json()["limits"]["absolute"]
    meta = {str(k): str(k) for k in range(limits["maxServerMeta"] + 1)}
    r = nova(admin_token, "POST", "/servers", json={"server": {
        "name": "meta-over", "flavorRef": "1", "imageRef": image_id, "metadata": meta}})
    assert r.status_code == 403 and "forbidden" in r.json(), r.text


def test_metadata_key_pattern(compute, admin_token, image_id):
    # Nova's keys match ^[a-zA-Z0-9-_:. ]{1,255}$; anything else is a 400
    for key in ("a/b", "caf\u00e9", "x" * 256, ""):
        r = nova(admin_token, "POST", "/servers", json={"server": {
            "name": "meta-key", "flavorRef": "1", "imageRef": image_id,
            "metadata": {key: "v"}}})
        assert r.status_code == 400 and "does not match any of the regexes" in r.text, \
            (key, r.text)


def test_extended_attributes_2_3(compute, admin_token, member, server):
    old = nova(admin_token, "GET", "/servers/%s" % server, mv="2.2").json()["server"]
    assert "OS-EXT-SRV-ATTR:host" in old
    assert "OS-EXT-SRV-ATTR:reservation_id" not in old
    s = nova(admin_token, "GET", "/servers/%s" % server, mv="2.3").json()["server"]
    assert s["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert s["OS-EXT-SRV-ATTR:launch_index"] == 0
    assert s["OS-EXT-SRV-ATTR:hostname"] == "mv-shared"
    assert s["OS-EXT-SRV-ATTR:kernel_id"] == "" and s["OS-EXT-SRV-ATTR:ramdisk_id"] == ""
    assert s["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert base64.b64decode(s["OS-EXT-SRV-ATTR:user_data"]) == b"#!/bin/sh\necho hi\n"
    detail = nova(admin_token, "GET", "/servers/detail", mv="2.3").json()["servers"]
    assert any(d["id"] == server and "OS-EXT-SRV-ATTR:user_data" in d for d in detail)


def test_member_sees_no_admin_fields(compute, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-member")
    try:
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.16").json()["server"]
        assert "OS-EXT-SRV-ATTR:reservation_id" not in s and "host_status" not in s
    finally:
        delete_server(token, sid)


def test_locked_2_9_and_lock_reason_2_73(compute, admin_token, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-lock")
    try:
        assert "locked" not in nova(token, "GET", "/servers/%s" % sid, mv="2.8").json()["server"]
        assert nova(token, "GET", "/servers/%s" % sid, mv="2.9").json()["server"]["locked"] \
            is False
        assert action(token, sid, {"lock": {"locked_reason": "x" * 256}}, mv="2.73") \
            .status_code == 400
        assert action(token, sid, {"lock": {"bogus": 1}}, mv="2.73").status_code == 400
        assert action(token, sid, {"lock": {"locked_reason": "maintenance"}}, mv="2.73") \
            .status_code == 202
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.73").json()["server"]
        assert s["locked"] is True and s["locked_reason"] == "maintenance"
        assert "locked_reason" not in nova(token, "GET", "/servers/%s" % sid,
                                           mv="2.72").json()["server"]
        # locked filter from 2.73
        ids = [x["id"] for x in nova(token, "GET", "/servers?locked=true",
                                     mv="2.73").json()["servers"]]
        assert sid in ids
        ids = [x["id"] for x in nova(token, "GET", "/servers?locked=false",
                                     mv="2.73").json()["servers"]]
        assert sid not in ids
        assert nova(token, "GET", "/servers?locked=maybe", mv="2.73").status_code == 400
        # before 2.73 the filter is ignored (unknown parameters are, before 2.75)
        ids = [x["id"] for x in nova(token, "GET", "/servers?locked=false",
                                     mv="2.72").json()["servers"]]
        assert sid in ids
        # detail and update answers carry the lock too
        d = [x for x in nova(token, "GET", "/servers/detail", mv="2.73").json()["servers"]
             if x["id"] == sid][0]
        assert d["locked"] is True and d["locked_reason"] == "maintenance"
        assert action(token, sid, {"unlock": None}, mv="2.73").status_code == 202
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.73").json()["server"]
        assert s["locked"] is False and s["locked_reason"] is None
        # a lock without a reason
        assert action(token, sid, {"lock": None}, mv="2.73").status_code == 202
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.79").json()["server"]
        assert s["locked"] is True and s["locked_reason"] is None
        assert action(token, sid, {"unlock": None}).status_code == 202
    finally:
        delete_server(token, sid)


def test_lock_reason_through_cli(compute, osc, member, image_id):
    token, env = member
    sid = create_server(token, image_id, "mv-lock-cli")
    try:
        osc("--os-compute-api-version", "2.73", "server", "lock", "--reason", "audit", sid,
            env=env)
        s = osc("--os-compute-api-version", "2.73", "server", "show", sid, "-f", "json",
                env=env)
        assert s["locked"] is True and s["locked_reason"] == "audit"
        osc("server", "unlock", sid, env=env)
    finally:
        delete_server(token, sid)


def test_host_status_2_16(compute, admin_token, server):
    assert "host_status" not in nova(admin_token, "GET", "/servers/%s" % server,
                                     mv="2.15").json()["server"]
    s = nova(admin_token, "GET", "/servers/%s" % server, mv="2.16").json()["server"]
    assert s["host_status"] == "UP"
    detail = nova(admin_token, "GET", "/servers/detail", mv="2.16").json()["servers"]
    assert [d["host_status"] for d in detail if d["id"] == server] == ["UP"]


def _events(token, sid, mv="2.51"):
    acts = nova(token, "GET", "/servers/%s/os-instance-actions" % sid, mv=mv).json()[
        "instanceActions"]
    return acts


def _wait_event_done(token, sid, action_name, mv="2.51"):
    for _ in range(300):
        acts = [a for a in _events(token, sid, mv) if a["action"] == action_name]
        if acts:
            a = nova(token, "GET", "/servers/%s/os-instance-actions/%s" % (
                sid, acts[0]["request_id"]), mv=mv).json()["instanceAction"]
            if a.get("events") and all(e["finish_time"] for e in a["events"]):
                return a
        time.sleep(0.1)
    raise AssertionError("action %s did not finish" % action_name)


def test_trigger_crash_dump_2_17(compute, admin_token, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-crash")
    try:
        r = action(token, sid, {"trigger_crash_dump": None}, mv="2.16")
        assert r.status_code == 404
        r = action(token, sid, {"trigger_crash_dump": {}}, mv="2.17")
        assert r.status_code == 400
        r = action(token, sid, {"trigger_crash_dump": None}, mv="2.17")
        assert r.status_code == 202, r.text
        a = _wait_event_done(token, sid, "trigger_crash_dump")
        assert [e["event"] for e in a["events"]] == ["compute_trigger_crash_dump"]
        assert a["events"][0]["result"] == "Success"     # the test driver takes NMIs
        # the states do not change
        s = wait_server(token, sid, mv="2.17")
        assert s["status"] == "ACTIVE"
        # a stopped server cannot take it (Nova's ALLOW_TRIGGER_CRASH_DUMP)
        assert action(token, sid, {"os-stop": None}).status_code == 202
        wait_server(token, sid, "SHUTOFF")
        r = action(token, sid, {"trigger_crash_dump": None}, mv="2.17")
        assert r.status_code == 409 and "conflictingRequest" in r.json()
    finally:
        delete_server(token, sid)


def test_description_2_19(compute, admin_token, image_id):
    r = nova(admin_token, "POST", "/servers", mv="2.18", json={"server": {
        "name": "d", "flavorRef": "1", "imageRef": image_id, "description": "x"}})
    assert r.status_code == 400
    r = nova(admin_token, "POST", "/servers", mv="2.19", json={"server": {
        "name": "d", "flavorRef": "1", "imageRef": image_id, "description": "x" * 256}})
    assert r.status_code == 400
    r = nova(admin_token, "POST", "/servers", mv="2.19", json={"server": {
        "name": "d", "flavorRef": "1", "imageRef": image_id, "description": "bad\x01"}})
    assert r.status_code == 400
    sid = create_server(admin_token, image_id, "mv-desc", mv="2.19", description="first one")
    try:
        assert nova(admin_token, "GET", "/servers/%s" % sid, mv="2.19").json()["server"][
            "description"] == "first one"
        assert "description" not in nova(admin_token, "GET", "/servers/%s" % sid,
                                         mv="2.18").json()["server"]
        r = nova(admin_token, "PUT", "/servers/%s" % sid, mv="2.18",
                 json={"server": {"description": "no"}})
        assert r.status_code == 400
        r = nova(admin_token, "PUT", "/servers/%s" % sid, mv="2.19",
                 json={"server": {"description": "second"}})
        assert r.status_code == 200 and r.json()["server"]["description"] == "second"
        r = nova(admin_token, "PUT", "/servers/%s" % sid, mv="2.19",
                 json={"server": {"description": None}})
        assert r.status_code == 200 and r.json()["server"]["description"] is None
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id,
                                                  "description": "rebuilt"}}, mv="2.19")
        assert r.status_code == 202 and r.json()["server"]["description"] == "rebuilt"
        wait_server(admin_token, sid)
    finally:
        delete_server(admin_token, sid)


def test_instance_actions_of_deleted_server_2_21(compute, admin_token, image_id):
    sid = create_server(admin_token, image_id, "mv-deleted")
    delete_server(admin_token, sid)
    r = nova(admin_token, "GET", "/servers/%s/os-instance-actions" % sid, mv="2.20")
    assert r.status_code == 404
    r = nova(admin_token, "GET", "/servers/%s/os-instance-actions" % sid, mv="2.21")
    assert r.status_code == 200
    acts = r.json()["instanceActions"]
    assert {a["action"] for a in acts} == {"create", "delete"}
    rid = [a for a in acts if a["action"] == "delete"][0]["request_id"]
    r = nova(admin_token, "GET", "/servers/%s/os-instance-actions/%s" % (sid, rid), mv="2.21")
    assert r.status_code == 200 and r.json()["instanceAction"]["action"] == "delete"
    r = nova(admin_token, "GET", "/servers/%s/os-instance-actions/%s" % (sid, rid), mv="2.20")
    assert r.status_code == 404


def test_server_tags_2_26(compute, admin_token, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-tags")
    other = create_server(token, image_id, "mv-tags-2")
    try:
        base = "/servers/%s/tags" % sid
        assert nova(token, "GET", base, mv="2.25").status_code == 404
        assert nova(token, "GET", base, mv="2.26").json() == {"tags": []}
        r = nova(token, "PUT", base + "/red", mv="2.26")
        assert r.status_code == 201 and r.headers["Location"].endswith(base + "/red")
        assert nova(token, "PUT", base + "/red", mv="2.26").status_code == 204   # already
        assert nova(token, "GET", base + "/red", mv="2.26").status_code == 204
        r = nova(token, "GET", base + "/blue", mv="2.26")
        assert r.status_code == 404 and "itemNotFound" in r.json()
        r = nova(token, "PUT", base, mv="2.26", json={"tags": ["green", "blue", "red"]})
        assert r.status_code == 200 and sorted(r.json()["tags"]) == ["blue", "green", "red"]
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.26").json()["server"]
        assert sorted(s["tags"]) == ["blue", "green", "red"]
        assert "tags" not in nova(token, "GET", "/servers/%s" % sid, mv="2.25").json()[
            "server"]
        assert nova(token, "DELETE", base + "/green", mv="2.26").status_code == 204
        assert nova(token, "DELETE", base + "/green", mv="2.26").status_code == 404
        # limits: 60 characters, no ',' or '/', 50 per server
        assert nova(token, "PUT", base + "/" + "x" * 61, mv="2.26").status_code == 400
        assert nova(token, "PUT", base + "/a,b", mv="2.26").status_code == 400
        for bad in (["a,b"], ["x" * 61], [""], [1], ["t%d" % k for k in range(51)]):
            r = nova(token, "PUT", base, mv="2.26", json={"tags": bad})
            assert r.status_code == 400 and "badRequest" in r.json(), bad
        assert nova(token, "PUT", base, mv="2.26", json={"tag": []}).status_code == 400
        many = ["t%d" % k for k in range(50)]
        assert nova(token, "PUT", base, mv="2.26", json={"tags": many}).status_code == 200
        r = nova(token, "PUT", base + "/one-more", mv="2.26")
        assert r.status_code == 400 and "limit 50" in r.json()["badRequest"]["message"]
        assert nova(token, "PUT", base, mv="2.26",
                    json={"tags": ["red", "blue"]}).status_code == 200
        assert nova(token, "PUT", "/servers/%s/tags" % other, mv="2.26",
                    json={"tags": ["red", "green"]}).status_code == 200

        def listed(query, mv="2.26"):
            r = nova(token, "GET", "/servers?" + query, mv=mv)
            assert r.status_code == 200, r.text
            return {x["id"] for x in r.json()["servers"]} & {sid, other}

        assert listed("tags=red") == {sid, other}
        assert listed("tags=red,blue") == {sid}
        assert listed("tags=red,blue,red") == {sid}
        assert listed("tags-any=blue,green") == {sid, other}
        assert listed("tags-any=blue,yellow") == {sid}
        assert listed("not-tags=red,blue") == {other}
        assert listed("not-tags-any=blue") == {other}
        assert listed("not-tags-any=red") == set()
        assert listed("tags=red&not-tags-any=green") == {sid}
        assert listed("tags=blue", mv="2.25") == {sid, other}     # ignored before 2.26
        # state check: tags change only in active/paused/suspended/stopped
        assert action(token, sid, {"shelve": None}).status_code == 202
        wait_server(token, sid, "SHELVED_OFFLOADED")
        r = nova(token, "PUT", base + "/late", mv="2.26")
        assert r.status_code == 409 and "conflictingRequest" in r.json()
        assert nova(token, "DELETE", base, mv="2.26").status_code == 409
        assert nova(token, "GET", base, mv="2.26").json()["tags"] == ["blue", "red"]
        # delete all
        assert nova(token, "DELETE", "/servers/%s/tags" % other, mv="2.26").status_code == 204
        assert nova(token, "GET", "/servers/%s/tags" % other, mv="2.26").json()["tags"] == []
    finally:
        delete_server(token, sid)
        delete_server(token, other)


def test_tags_through_cli(compute, osc, member, image_id):
    token, env = member
    sid = create_server(token, image_id, "mv-tags-cli")
    try:
        osc("--os-compute-api-version", "2.26", "server", "set", "--tag", "cli-tag", sid,
            env=env)
        s = osc("--os-compute-api-version", "2.26", "server", "show", sid, "-f", "json",
                env=env)
        assert "cli-tag" in s["tags"]
        lst = osc("--os-compute-api-version", "2.26", "server", "list", "--tags", "cli-tag",
                  "-f", "json", env=env)
        assert [x["ID"] for x in lst] == [sid]
    finally:
        delete_server(token, sid)


def test_tags_at_create_2_52(compute, admin_token, image_id):
    r = nova(admin_token, "POST", "/servers", mv="2.51", json={"server": {
        "name": "t", "flavorRef": "1", "imageRef": image_id, "tags": ["a"]}})
    assert r.status_code == 400
    r = nova(admin_token, "POST", "/servers", mv="2.52", json={"server": {
        "name": "t", "flavorRef": "1", "imageRef": image_id, "tags": ["a/b"]}})
    assert r.status_code == 400
    r = nova(admin_token, "POST", "/servers", mv="2.52", json={"server": {
        "name": "t", "flavorRef": "1", "imageRef": image_id,
        "tags": ["t%d" % k for k in range(51)]}})
    assert r.status_code == 400
    sid = create_server(admin_token, image_id, "mv-create-tags", mv="2.52",
                        tags=["alpha", "beta"])
    try:
        assert sorted(nova(admin_token, "GET", "/servers/%s" % sid, mv="2.52").json()[
            "server"]["tags"]) == ["alpha", "beta"]
    finally:
        delete_server(admin_token, sid)


def test_invalid_status_filter_2_38(compute, admin_token, member):
    token, _ = member
    for t in (admin_token, token):
        r = nova(t, "GET", "/servers?status=NOPE", mv="2.37")
        assert r.status_code == 200 and r.json()["servers"] == []
        r = nova(t, "GET", "/servers/detail?status=NOPE", mv="2.38")
        assert r.status_code == 400 and r.json()["badRequest"]["message"] == \
            "Invalid status value"


def test_create_image_2_45(compute, admin_token, server, osc):
    r = action(admin_token, server, {"createImage": {"name": "mv-snap-244"}}, mv="2.44")
    assert r.status_code == 202 and "/images/" in r.headers["Location"] and not r.content
    wait_server(admin_token, server)
    r = action(admin_token, server, {"createImage": {"name": "mv-snap-245"}}, mv="2.45")
    assert r.status_code == 202 and "Location" not in r.headers
    image = r.json()["image_id"]
    assert uuid.UUID(image)
    wait_server(admin_token, server)
    for _ in range(300):
        img = osc("image", "show", image, "-f", "json")
        if img["status"] == "active":
            break
        time.sleep(0.2)
    assert img["name"] == "mv-snap-245" and img["status"] == "active"
    osc("image", "delete", image, "mv-snap-244")


def test_embedded_flavor_2_47(compute, admin_token, member, image_id, osc):
    osc("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "--id", "mv47",
        "--property", "hw:cpu_policy=shared", "mv.flavor47")
    token, _ = member
    r = nova(token, "POST", "/servers", mv="2.47", json={"server": {
        "name": "mv-flavor", "flavorRef": "mv47", "imageRef": image_id}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    try:
        wait_server(token, sid)
        old = nova(token, "GET", "/servers/%s" % sid, mv="2.46").json()["server"]["flavor"]
        assert old["id"] == "mv47" and old["links"][0]["rel"] == "bookmark"
        f = nova(token, "GET", "/servers/%s" % sid, mv="2.47").json()["server"]["flavor"]
        assert f == {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0,
                     "original_name": "mv.flavor47",
                     "extra_specs": {"hw:cpu_policy": "shared"}}
        # the server keeps its copy when the flavor goes away
        osc("flavor", "delete", "mv47")
        f = nova(token, "GET", "/servers/detail", mv="2.47").json()["servers"]
        f = [x for x in f if x["id"] == sid][0]["flavor"]
        assert f["original_name"] == "mv.flavor47" and f["extra_specs"] == {
            "hw:cpu_policy": "shared"}
    finally:
        delete_server(token, sid)


def test_instance_action_events_2_51_2_62(compute, admin_token, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-events")
    try:
        acts = _events(token, sid, mv="2.50")
        rid = [a for a in acts if a["action"] == "create"][0]["request_id"]
        path = "/servers/%s/os-instance-actions/%s" % (sid, rid)
        # a member sees events from 2.51, without traceback or host
        assert "events" not in nova(token, "GET", path, mv="2.50").json()["instanceAction"]
        ev = nova(token, "GET", path, mv="2.51").json()["instanceAction"]["events"]
        assert ev and ev[0]["event"] == "compute__do_build_and_run_instance"
        assert ev[0]["result"] == "Success"
        assert "traceback" not in ev[0] and "host" not in ev[0] and "hostId" not in ev[0]
        ev = nova(token, "GET", path, mv="2.62").json()["instanceAction"]["events"]
        assert len(ev[0]["hostId"]) == 56 and "host" not in ev[0]
        # admins: always events with traceback; host from 2.62
        ev = nova(admin_token, "GET", path, mv="2.1").json()["instanceAction"]["events"]
        assert "traceback" in ev[0] and "host" not in ev[0]
        ev = nova(admin_token, "GET", path, mv="2.62").json()["instanceAction"]["events"]
        assert ev[0]["host"] and ev[0]["hostId"] == nova(
            token, "GET", path, mv="2.62").json()["instanceAction"]["events"][0]["hostId"]
        r = nova(token, "GET", "/servers/%s/os-instance-actions/req-nope" % sid, mv="2.51")
        assert r.status_code == 404
    finally:
        delete_server(token, sid)


def test_instance_actions_paging_2_58_2_66(compute, admin_token, image_id):
    sid = create_server(admin_token, image_id, "mv-paging")
    try:
        for body, want in (({"os-stop": None}, "SHUTOFF"), ({"os-start": None}, "ACTIVE"),
                           ({"os-stop": None}, "SHUTOFF")):
            assert action(admin_token, sid, body).status_code == 202
            wait_server(admin_token, sid, want)
        base = "/servers/%s/os-instance-actions" % sid
        old = nova(admin_token, "GET", base + "?limit=1", mv="2.57").json()
        assert len(old["instanceActions"]) == 4 and "links" not in old
        assert "updated_at" not in old["instanceActions"][0]
        full = nova(admin_token, "GET", base, mv="2.58").json()["instanceActions"]
        assert [a["action"] for a in full] == ["stop", "start", "stop", "create"]
        assert all(a["updated_at"] for a in full)
        page = nova(admin_token, "GET", base + "?limit=2", mv="2.58").json()
        assert [a["request_id"] for a in page["instanceActions"]] == \
            [a["request_id"] for a in full[:2]]
        nxt = page["links"][0]
        assert nxt["rel"] == "next" and "marker=%s" % full[1]["request_id"] in nxt["href"]
        page2 = nova(admin_token, "GET", base + "?limit=2&marker=%s" % full[1]["request_id"],
                     mv="2.58").json()
        assert [a["request_id"] for a in page2["instanceActions"]] == \
            [a["request_id"] for a in full[2:]]
        r = nova(admin_token, "GET", base + "?marker=req-none", mv="2.58")
        assert r.status_code == 400
        assert nova(admin_token, "GET", base + "?limit=-1", mv="2.58").status_code == 400
        assert nova(admin_token, "GET", base + "?bogus=1", mv="2.58").status_code == 400
        # changes-since / changes-before on updated_at
        cut = full[1]["updated_at"]
        since = nova(admin_token, "GET", base + "?changes-since=%s" % cut,
                     mv="2.58").json()["instanceActions"]
        assert [a["action"] for a in since] == ["stop", "start"]
        r = nova(admin_token, "GET", base + "?changes-before=%s" % cut, mv="2.65")
        assert r.status_code == 400
        before = nova(admin_token, "GET", base + "?changes-before=%s" % cut,
                      mv="2.66").json()["instanceActions"]
        assert [a["action"] for a in before] == ["start", "stop", "create"]
        r = nova(admin_token, "GET", base + "?changes-since=%s&changes-before=%s" % (
            full[0]["updated_at"], full[3]["updated_at"]), mv="2.66")
        assert r.status_code == 400
        r = nova(admin_token, "GET", base + "?changes-since=yesterday", mv="2.58")
        assert r.status_code == 400
    finally:
        delete_server(admin_token, sid)


def test_rebuild_key_name_2_54_user_data_2_57(compute, admin_token, image_id, osc):
    osc("keypair", "create", "mv-kp1")
    osc("keypair", "create", "mv-kp2")
    sid = create_server(admin_token, image_id, "mv-rebuild", key_name="mv-kp1")
    try:
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "key_name": "mv-kp2"}},
                   mv="2.53")
        assert r.status_code == 400
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "key_name": "nope"}},
                   mv="2.54")
        assert r.status_code == 400 and r.json()["badRequest"]["message"] == \
            "Invalid key_name provided."
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "key_name": "mv-kp2"}},
                   mv="2.54")
        assert r.status_code == 202 and r.json()["server"]["key_name"] == "mv-kp2"
        assert r.headers["Location"].endswith("/servers/%s" % sid)
        assert "user_data" not in r.json()["server"]
        wait_server(admin_token, sid)
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "key_name": None}},
                   mv="2.54")
        assert r.status_code == 202 and r.json()["server"]["key_name"] is None
        wait_server(admin_token, sid)
        # 2.57: user_data in, personality out
        ud = base64.b64encode(b"rebuilt").decode()
        pers = [{"path": "/etc/x", "contents": base64.b64encode(b"x").decode()}]
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "user_data": ud}},
                   mv="2.56")
        assert r.status_code == 400
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "personality": pers}},
                   mv="2.57")
        assert r.status_code == 400
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "user_data": "@@"}},
                   mv="2.57")
        assert r.status_code == 400
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "user_data": ud}},
                   mv="2.57")
        assert r.status_code == 202 and r.json()["server"]["user_data"] == ud
        wait_server(admin_token, sid)
        s = nova(admin_token, "GET", "/servers/%s" % sid, mv="2.57").json()["server"]
        assert s["OS-EXT-SRV-ATTR:user_data"] == ud
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id, "user_data": None}},
                   mv="2.57")
        assert r.status_code == 202 and r.json()["server"]["user_data"] is None
        wait_server(admin_token, sid)
        # personality at create goes away in 2.57 too
        r = nova(admin_token, "POST", "/servers", mv="2.57", json={"server": {
            "name": "p", "flavorRef": "1", "imageRef": image_id, "personality": pers}})
        assert r.status_code == 400
    finally:
        delete_server(admin_token, sid)
        osc("keypair", "delete", "mv-kp1", "mv-kp2")


def test_trusted_image_certificates_2_63(compute, admin_token, image_id):
    for bad in ([], ["a", "a"], [""], "x", [1]):
        r = nova(admin_token, "POST", "/servers", mv="2.63", json={"server": {
            "name": "c", "flavorRef": "1", "imageRef": image_id,
            "trusted_image_certificates": bad}})
        assert r.status_code == 400, bad
    r = nova(admin_token, "POST", "/servers", mv="2.62", json={"server": {
        "name": "c", "flavorRef": "1", "imageRef": image_id,
        "trusted_image_certificates": ["a"]}})
    assert r.status_code == 400
    sid = create_server(admin_token, image_id, "mv-certs", mv="2.63",
                        trusted_image_certificates=["cert-a", "cert-b"])
    plain = create_server(admin_token, image_id, "mv-nocerts", mv="2.63")
    try:
        s = nova(admin_token, "GET", "/servers/%s" % sid, mv="2.63").json()["server"]
        assert s["trusted_image_certificates"] == ["cert-a", "cert-b"]
        assert "trusted_image_certificates" not in nova(
            admin_token, "GET", "/servers/%s" % sid, mv="2.62").json()["server"]
        assert nova(admin_token, "GET", "/servers/%s" % plain, mv="2.63").json()["server"][
            "trusted_image_certificates"] is None
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id,
                                                  "trusted_image_certificates": ["cert-c"]}},
                   mv="2.63")
        assert r.status_code == 202 and r.json()["server"]["trusted_image_certificates"] == \
            ["cert-c"]
        wait_server(admin_token, sid)
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id,
                                                  "trusted_image_certificates": None}},
                   mv="2.63")
        assert r.status_code == 202 and r.json()["server"]["trusted_image_certificates"] \
            is None
        wait_server(admin_token, sid)
    finally:
        delete_server(admin_token, sid)
        delete_server(admin_token, plain)


def test_changes_before_2_66(compute, admin_token, server):
    s = nova(admin_token, "GET", "/servers/%s" % server).json()["server"]
    upd = s["updated"]
    ids = lambda r: [x["id"] for x in r.json()["servers"]]   # noqa: E731
    r = nova(admin_token, "GET", "/servers?changes-before=%s" % upd, mv="2.66")
    assert r.status_code == 200 and server in ids(r)
    r = nova(admin_token, "GET", "/servers?changes-before=2000-01-01T00:00:00Z", mv="2.66")
    assert r.status_code == 200 and server not in ids(r)
    # before 2.66 the parameter is ignored
    r = nova(admin_token, "GET", "/servers?changes-before=2000-01-01T00:00:00Z", mv="2.65")
    assert server in ids(r)
    r = nova(admin_token, "GET", "/servers?changes-before=garbage", mv="2.66")
    assert r.status_code == 400
    r = nova(admin_token, "GET", "/servers?changes-since=2030-01-01T00:00:00Z"
             "&changes-before=2020-01-01T00:00:00Z", mv="2.66")
    assert r.status_code == 400


def test_server_groups_2_71(compute, admin_token, image_id, osc):
    r = nova(admin_token, "POST", "/os-server-groups", mv="2.1", json={
        "server_group": {"name": "mv-g71", "policies": ["affinity"]}})
    assert r.status_code == 200, r.text
    g = r.json()["server_group"]
    r = nova(admin_token, "POST", "/servers", json={
        "server": {"name": "mv-grouped", "flavorRef": "1", "imageRef": image_id},
        "os:scheduler_hints": {"group": g["id"]}})
    sid = r.json()["server"]["id"]
    plain = None
    try:
        wait_server(admin_token, sid)
        assert "server_groups" not in nova(admin_token, "GET", "/servers/%s" % sid,
                                           mv="2.70").json()["server"]
        assert nova(admin_token, "GET", "/servers/%s" % sid, mv="2.71").json()["server"][
            "server_groups"] == [g["id"]]
        r = nova(admin_token, "PUT", "/servers/%s" % sid, mv="2.71",
                 json={"server": {"name": "mv-grouped2"}})
        assert r.json()["server"]["server_groups"] == [g["id"]]
        # not in the list views
        d = nova(admin_token, "GET", "/servers/detail", mv="2.71").json()["servers"]
        assert all("server_groups" not in x for x in d)
        plain = create_server(admin_token, image_id, "mv-ungrouped")
        assert nova(admin_token, "GET", "/servers/%s" % plain, mv="2.71").json()["server"][
            "server_groups"] == []
    finally:
        delete_server(admin_token, sid)
        if plain:
            delete_server(admin_token, plain)
        nova(admin_token, "DELETE", "/os-server-groups/%s" % g["id"])


def test_create_on_host_2_74(compute, admin_token, member, image_id):
    hosts = nova(admin_token, "GET", "/os-hypervisors/detail").json()["hypervisors"]
    host = hosts[0]["service"]["host"]
    node = hosts[0]["hypervisor_hostname"]
    body = {"name": "h", "flavorRef": "1", "imageRef": image_id, "host": host}
    assert nova(admin_token, "POST", "/servers", mv="2.73",
                json={"server": body}).status_code == 400
    r = nova(member[0], "POST", "/servers", mv="2.74", json={"server": body})
    assert r.status_code == 403
    r = nova(admin_token, "POST", "/servers", mv="2.74", json={"server": dict(
        body, host="no-such-host")})
    assert r.status_code == 400 and "could not be found" in r.text
    r = nova(admin_token, "POST", "/servers", mv="2.74", json={"server": dict(
        body, host="bad host!")})
    assert r.status_code == 400
    r = nova(admin_token, "POST", "/servers", mv="2.74", json={"server": dict(
        body, availability_zone="nova:%s" % host)})
    assert r.status_code == 400
    sid = create_server(admin_token, image_id, "mv-on-host", mv="2.74", host=host,
                        hypervisor_hostname=node)
    try:
        s = nova(admin_token, "GET", "/servers/%s" % sid, mv="2.74").json()["server"]
        assert s["OS-EXT-SRV-ATTR:host"] == host
    finally:
        delete_server(admin_token, sid)


def test_cleanups_2_75(compute, admin_token, member, server):
    r = nova(admin_token, "GET", "/servers?bogus=1", mv="2.74")
    assert r.status_code == 200
    r = nova(admin_token, "GET", "/servers?bogus=1", mv="2.75")
    assert r.status_code == 400 and "bogus" in r.json()["badRequest"]["message"]
    r = nova(admin_token, "GET", "/servers/detail?sort_key=memory_mb", mv="2.75")
    assert r.status_code == 400
    r = nova(admin_token, "GET", "/servers/detail?sort_key=display_name&name=mv", mv="2.75")
    assert r.status_code == 200
    r = nova(admin_token, "GET", "/servers?security_groups=x", mv="2.1")
    assert r.status_code == 400
    # a member's filters Nova does not allow are dropped before that check
    assert nova(member[0], "GET", "/servers?security_groups=x", mv="2.1").status_code == 200
    assert nova(member[0], "GET", "/servers?_hidden=x", mv="2.75").status_code == 200
    assert nova(member[0], "GET", "/servers?bogus=x", mv="2.75").status_code == 400
    # update: a subset before 2.75, the whole server from it
    old = nova(admin_token, "PUT", "/servers/%s" % server, mv="2.74",
               json={"server": {"name": "mv-shared"}}).json()["server"]
    assert "OS-EXT-STS:vm_state" not in old and "key_name" not in old
    assert "OS-EXT-SRV-ATTR:host" not in old and "host_status" not in old
    new = nova(admin_token, "PUT", "/servers/%s" % server, mv="2.75",
               json={"server": {"name": "mv-shared"}}).json()["server"]
    show = nova(admin_token, "GET", "/servers/%s" % server, mv="2.75").json()["server"]
    assert set(new) == set(show)
    assert new["OS-EXT-STS:vm_state"] == "active" and new["host_status"] == "UP"


def test_rebuild_response_2_75(compute, admin_token, server, image_id):
    r = action(admin_token, server, {"rebuild": {"imageRef": image_id}}, mv="2.74")
    assert r.status_code == 202
    old = r.json()["server"]
    assert "OS-EXT-STS:vm_state" not in old and "OS-EXT-AZ:availability_zone" not in old
    assert "key_name" in old             # from 2.54
    wait_server(admin_token, server)
    r = action(admin_token, server, {"rebuild": {"imageRef": image_id}}, mv="2.75")
    new = r.json()["server"]
    assert r.status_code == 202 and new["OS-EXT-STS:vm_state"] == "active"
    assert "OS-EXT-AZ:availability_zone" in new and "security_groups" in new
    assert "OS-EXT-SRV-ATTR:user_data" not in new and "user_data" in new
    wait_server(admin_token, server)


def test_unshelve_availability_zone_2_77(compute, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-unshelve")
    try:
        assert action(token, sid, {"shelve": None}).status_code == 202
        wait_server(token, sid, "SHELVED_OFFLOADED")
        r = action(token, sid, {"unshelve": {}}, mv="2.77")
        assert r.status_code == 400
        r = action(token, sid, {"unshelve": {"availability_zone": "nowhere"}}, mv="2.77")
        assert r.status_code == 400
        r = action(token, sid, {"unshelve": {"availability_zone": "nova", "x": 1}}, mv="2.77")
        assert r.status_code == 400
        r = action(token, sid, {"unshelve": {"availability_zone": "nova"}}, mv="2.77")
        assert r.status_code == 202, r.text
        s = wait_server(token, sid, "ACTIVE", mv="2.77")
        assert s["OS-EXT-AZ:availability_zone"] == "nova"
        # before 2.77 the body is not looked at
        assert action(token, sid, {"shelve": None}).status_code == 202
        wait_server(token, sid, "SHELVED_OFFLOADED")
        r = action(token, sid, {"unshelve": {"availability_zone": "nowhere"}}, mv="2.76")
        assert r.status_code == 202
        wait_server(token, sid, "ACTIVE")
    finally:
        delete_server(token, sid)


def test_topology_2_78(compute, admin_token, member, server):
    path = "/servers/%s/topology" % server
    assert nova(admin_token, "GET", path, mv="2.77").status_code == 404
    r = nova(admin_token, "GET", path, mv="2.78")
    assert r.status_code == 200 and r.json() == {"nodes": [], "pagesize_kb": None}
    r = nova(member[0], "GET", path, mv="2.78")      # another project's server
    assert r.status_code == 404


def test_remote_consoles_2_6(compute, admin_token, server):
    body = {"os-getVNCConsole": {"type": "novnc"}}
    r = action(admin_token, server, body, mv="2.5")
    assert r.status_code == 200 and "token" in r.json()["console"]["url"]
    assert action(admin_token, server, body, mv="2.6").status_code == 404
    path = "/servers/%s/remote-consoles" % server
    rc = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
    assert nova(admin_token, "POST", path, mv="2.5", json=rc).status_code == 404
    r = nova(admin_token, "POST", path, mv="2.6", json=rc)
    assert r.status_code == 200
    c = r.json()["remote_console"]
    assert c["protocol"] == "vnc" and c["type"] == "novnc" and "token" in c["url"]
    r = nova(admin_token, "POST", path, mv="2.6",
             json={"remote_console": {"protocol": "spice", "type": "spice-html5"}})
    assert r.status_code == 400 and "Unavailable console type" in r.text
    r = nova(admin_token, "POST", path, mv="2.6",
             json={"remote_console": {"protocol": "mks", "type": "webmks"}})
    assert r.status_code == 400 and "is not one of" in r.text
    r = nova(admin_token, "POST", path, mv="2.8",
             json={"remote_console": {"protocol": "mks", "type": "webmks"}})
    assert r.status_code == 400 and "Unavailable console type" in r.text


def test_ip6_filter_2_5(compute, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv-ip6")
    try:
        ids = lambda mv: [x["id"] for x in nova(   # noqa: E731
            token, "GET", "/servers?ip6=fe80::1", mv=mv).json()["servers"]]
        assert sid in ids("2.4")      # a member's ip6 filter is dropped before 2.5
        assert sid not in ids("2.5")  # from 2.5 it applies (the server has no address)
    finally:
        delete_server(token, sid)


def test_create_image_metadata_quota_until_2_39(compute, admin_token, server, osc):
    limits = nova(admin_token, "GET", "/limits").json()["limits"]["absolute"]
    meta = {"k%d" % k: "v" for k in range(limits["maxServerMeta"] + 1)}
    r = action(admin_token, server, {"createImage": {"name": "mv-snap-meta",
                                                     "metadata": meta}}, mv="2.38")
    assert r.status_code == 403 and r.json()["forbidden"]["message"] == \
        "Image metadata limit exceeded"
    r = action(admin_token, server, {"createImage": {"name": "mv-snap-meta",
                                                     "metadata": meta}}, mv="2.39")
    assert r.status_code == 202, r.text
    image = r.headers["Location"].rsplit("/", 1)[1]
    wait_server(admin_token, server)
    for _ in range(300):
        if osc("image", "show", image, "-f", "json")["status"] == "active":
            break
        time.sleep(0.2)
    osc("image", "delete", image)


def test_return_reservation_id_and_filter(compute, member, image_id):
    token, _ = member
    r = nova(token, "POST", "/servers", json={"server": {
        "name": "mv-resv", "flavorRef": "1", "imageRef": image_id, "min_count": 2,
        "return_reservation_id": True}})
    assert r.status_code == 202 and set(r.json()) == {"reservation_id"}, r.text
    resv = r.json()["reservation_id"]
    r = nova(token, "GET", "/servers?reservation_id=%s" % resv)
    found = r.json()["servers"]
    assert sorted(s["name"] for s in found) == ["mv-resv-1", "mv-resv-2"]
    assert nova(token, "GET", "/servers?reservation_id=r-none").json()["servers"] == []
    for s in found:
        wait_server(token, s["id"])
        delete_server(token, s["id"])


def test_instance_quota_still_403(compute, admin_token, image_id):
    """A refused create answers 403 alone, with or without return_reservation_id."""
    body = http_session().get(IDENTITY + "/v3/auth/tokens", headers={
        "X-Auth-Token": admin_token, "X-Subject-Token": admin_token}, timeout=10).json()
    project = body["token"]["project"]["id"]
    used = nova(admin_token, "GET", "/limits").json()["limits"]["absolute"][
        "totalInstancesUsed"]
    r = nova(admin_token, "PUT", "/os-quota-sets/%s" % project,
             json={"quota_set": {"instances": used}})
    assert r.status_code == 200, r.text
    try:
        for extra in ({}, {"return_reservation_id": True}):
            server = {"name": "mv-q", "flavorRef": "1", "imageRef": image_id}
            server.update(extra)
            r = nova(admin_token, "POST", "/servers", json={"server": server})
            assert r.status_code == 403 and "Quota exceeded for instances" in \
                r.json()["forbidden"]["message"], r.text
            assert "Location" not in r.headers
    finally:
        nova(admin_token, "DELETE", "/os-quota-sets/%s" % project)
