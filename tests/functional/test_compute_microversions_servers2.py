"""Compute microversions 2.83, 2.84, 2.90 and 2.91 as they change servers:
each test asks for versions on both sides of a change with the
OpenStack-API-Version header and checks what Nova (Zed) does there. The
daemon runs the libvirt test:///default driver, and shelved servers stay
SHELVED until offloaded on purpose (shelved_offload_time = -1)."""
import subprocess
import tempfile
import time

import pytest

from conftest import http_session

COMPUTE = "http://127.0.0.1:8774"
IDENTITY = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def compute(stack):
    stack.write_config(overrides={"libvirt": {"uri": "test:///default", "virt_type": "qemu"},
                                  "compute": {"shelved_offload_time": "-1"}})
    stack.restart_daemon()
    stack.manage("bootstrap", "--admin-password", stack.admin_password,
                 "--public-url", "http://127.0.0.1")
    return stack


@pytest.fixture(scope="module")
def image_id(compute, osc):
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "64M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, "--public", "mv-servers2-img", "-f", "json")
    return img["id"]


def token_for(user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = http_session().post(IDENTITY + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"], r.json()["token"]["user"]["id"]


@pytest.fixture(scope="module")
def member(compute, osc):
    """(token, user id) of a member of its own project."""
    pw = "Mv2-member-1"
    osc("project", "create", "--domain", "default", "mv2-proj", check=False)
    osc("user", "create", "--domain", "default", "--password", pw, "mv2-user", check=False)
    osc("role", "add", "--project", "mv2-proj", "--user", "mv2-user", "member")
    return token_for("mv2-user", pw, "mv2-proj")


def nova(token, method, path, mv=None, **kw):
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    if mv:
        headers["OpenStack-API-Version"] = "compute %s" % mv
    return http_session().request(method, COMPUTE + "/v2.1" + path, headers=headers,
                                  timeout=30, **kw)


def wait_server(token, sid, want="ACTIVE", tries=400):
    s = None
    for _ in range(tries):
        r = nova(token, "GET", "/servers/%s" % sid, mv="2.1")
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
    if mv != "2.1":
        body.setdefault("networks", "none")
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


def listed(token, mv, **query):
    r = nova(token, "GET", "/servers", mv=mv, params=query)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()["servers"]}


def test_list_filters_for_members_2_83(compute, admin_token, member, image_id):
    token, user_id = member
    r = nova(token, "POST", "/os-keypairs", json={"keypair": {"name": "mv2-key"}})
    assert r.status_code == 200, r.text
    a = create_server(token, image_id, "mv2-filter-a", key_name="mv2-key")
    b = create_server(token, image_id, "mv2-filter-b")
    try:
        both = {a, b}
        sa = nova(token, "GET", "/servers/%s" % a, mv="2.83").json()["server"]
        # Before 2.83 Nova drops these filters from a member's query.
        assert listed(token, "2.82", key_name="^mv2-key$") == both
        assert listed(token, "2.82", user_id="someone-else") == both
        assert listed(token, "2.82", availability_zone="nowhere") == both
        # From 2.83 they filter.
        assert listed(token, "2.83", key_name="^mv2-key$") == {a}
        assert listed(token, "2.83", key_name="mv2") == {a}
        assert listed(token, "2.83", user_id=user_id) == both
        assert listed(token, "2.83", user_id="someone-else") == set()
        assert listed(token, "2.83", availability_zone="^nova$") == both
        assert listed(token, "2.83", availability_zone="nowhere") == set()
        assert listed(token, "2.83", vm_state="active") == both
        assert listed(token, "2.83", vm_state="stopped") == set()
        assert listed(token, "2.83", power_state="^1$") == both
        assert listed(token, "2.83", power_state="^4$") == set()
        assert listed(token, "2.83", task_state="rebooting") == set()
        assert listed(token, "2.83", progress="^7$") == set()
        assert listed(token, "2.83", config_drive="True") == set()
        # Times match as Nova's DATETIME text, "YYYY-MM-DD HH:MM:SS".
        day = sa["created"][:10]
        assert listed(token, "2.83", created_at="^" + day) == both
        assert listed(token, "2.83", created_at="^1999-") == set()
        launched = sa["OS-SRV-USG:launched_at"][:19].replace("T", " ")
        assert a in listed(token, "2.83", launched_at="^%s$" % launched)
        assert listed(token, "2.83", launched_at="^1999-") == set()
        assert listed(token, "2.83", terminated_at=".") == set()
        # A regular expression the database cannot compile is the
        # client's mistake: 400, not a fault.
        for q in ({"key_name": "("}, {"created_at": "["}, {"name": "("}):
            r = nova(token, "GET", "/servers", mv="2.83", params=q)
            assert r.status_code == 400, (q, r.text)
        # Stopping one server moves it out of vm_state=active.
        assert action(token, b, {"os-stop": None}).status_code == 202
        wait_server(token, b, "SHUTOFF")
        assert listed(token, "2.83", vm_state="active") == {a}
        assert listed(token, "2.83", vm_state="stopped") == {b}
        # A status filter decides vm_state over the vm_state parameter.
        assert listed(token, "2.83", status="SHUTOFF", vm_state="active") == {b}
        # Admins could always filter on these columns.
        assert listed(admin_token, "2.1", all_tenants="1", key_name="^mv2-key$") == {a}
        assert listed(admin_token, "2.1", all_tenants="1", user_id=user_id) == both
        # And a member still sees only its project's servers.
        assert listed(admin_token, "2.83", user_id=user_id) == set()
    finally:
        delete_server(token, a)
        delete_server(token, b)
        nova(token, "DELETE", "/os-keypairs/mv2-key")


def _create_action(token, sid):
    r = nova(token, "GET", "/servers/%s/os-instance-actions" % sid, mv="2.1")
    assert r.status_code == 200, r.text
    acts = [x for x in r.json()["instanceActions"] if x["action"] == "create"]
    assert len(acts) == 1, r.text
    return acts[0]["request_id"]


def _events(token, sid, rid, mv):
    r = nova(token, "GET", "/servers/%s/os-instance-actions/%s" % (sid, rid), mv=mv)
    assert r.status_code == 200, r.text
    return r.json()["instanceAction"]["events"]


def test_action_event_details_2_84(compute, admin_token, member, image_id):
    token, _ = member
    r = nova(token, "POST", "/os-server-groups", mv="2.64", json={
        "server_group": {"name": "mv2-anti", "policy": "anti-affinity"}})
    assert r.status_code == 200, r.text
    gid = r.json()["server_group"]["id"]
    hints = {"os:scheduler_hints": {"group": gid}}
    sids = []
    try:
        # One compute host: the second member of the group cannot be placed.
        for name in ("mv2-anti-1", "mv2-anti-2"):
            r = nova(token, "POST", "/servers", json={
                "server": {"name": name, "flavorRef": "1", "imageRef": image_id}, **hints})
            assert r.status_code == 202, r.text
            sids.append(r.json()["server"]["id"])
            wait_server(token, sids[-1], "ACTIVE" if len(sids) == 1 else "ERROR")
        ok_sid, bad_sid = sids
        rid = _create_action(token, bad_sid)
        ev = _events(admin_token, bad_sid, rid, "2.84")
        assert [e["result"] for e in ev] == ["Error"], ev
        assert "No valid host was found" in ev[0]["details"], ev
        # Not before 2.84, and not for members (Nova's default policy).
        assert all("details" not in e for e in _events(admin_token, bad_sid, rid, "2.83"))
        member_ev = _events(token, bad_sid, rid, "2.84")
        assert member_ev and all("details" not in e for e in member_ev)
        # A successful event has no details.
        ev = _events(admin_token, ok_sid, _create_action(token, ok_sid), "2.84")
        assert [e["result"] for e in ev] == ["Success"] and ev[0]["details"] is None, ev
    finally:
        for sid in sids:
            delete_server(token, sid)
        nova(token, "DELETE", "/os-server-groups/%s" % gid)


def test_hostname_2_90(compute, admin_token, member, image_id):
    token, _ = member
    base = {"name": "mv2-hn", "flavorRef": "1", "imageRef": image_id, "networks": "none"}
    r = nova(token, "POST", "/servers", mv="2.89", json={
        "server": dict(base, hostname="mv2-host")})
    assert r.status_code == 400 and "'hostname' was unexpected" in r.text, r.text
    for bad in ("a", "-abc", "abc-", "a_b", "a.b", "x" * 64, 123, None):
        r = nova(token, "POST", "/servers", mv="2.90", json={
            "server": dict(base, hostname=bad)})
        assert r.status_code == 400, (bad, r.text)
        assert "Invalid input for field/attribute hostname" in r.json()["badRequest"][
            "message"], r.text
    r = nova(token, "POST", "/servers", mv="2.90", json={
        "server": dict(base, hostname="mv2-host", max_count=2)})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == \
        "Unable to allocate a single hostname to multiple instances"

    sid = create_server(token, image_id, "Some Name", mv="2.90", hostname="mv2-Host-1")
    other = create_server(token, image_id, "mv2-other")
    try:
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.90").json()["server"]
        assert s["OS-EXT-SRV-ATTR:hostname"] == "mv2-Host-1"
        # Members see the field from 2.90 only; admins since 2.3.
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.89").json()["server"]
        assert "OS-EXT-SRV-ATTR:hostname" not in s
        s = nova(admin_token, "GET", "/servers/%s" % sid, mv="2.89").json()["server"]
        assert s["OS-EXT-SRV-ATTR:hostname"] == "mv2-Host-1"
        r = nova(token, "GET", "/servers/detail", mv="2.90", params={"hostname": "^mv2-Host"})
        assert [x["id"] for x in r.json()["servers"]] == [sid]
        assert r.json()["servers"][0]["OS-EXT-SRV-ATTR:hostname"] == "mv2-Host-1"
        # The hostname filter is a member's from 2.90 (dropped at 2.89).
        assert listed(token, "2.89", hostname="nothing-like-it") == {sid, other}
        assert listed(token, "2.90", hostname="nothing-like-it") == set()

        # update
        r = nova(token, "PUT", "/servers/%s" % sid, mv="2.89",
                 json={"server": {"hostname": "mv2-new"}})
        assert r.status_code == 400
        r = nova(token, "PUT", "/servers/%s" % sid, mv="2.90",
                 json={"server": {"hostname": "bad_name"}})
        assert r.status_code == 400
        r = nova(token, "PUT", "/servers/%s" % sid, mv="2.90",
                 json={"server": {"hostname": "mv2-new"}})
        assert r.status_code == 200, r.text
        assert r.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "mv2-new"
        assert r.json()["server"]["name"] == "Some Name"

        # rebuild
        rb = {"imageRef": image_id, "hostname": "mv2-rebuilt"}
        assert action(token, sid, {"rebuild": rb}, mv="2.89").status_code == 400
        r = action(token, sid, {"rebuild": dict(rb, hostname="x")}, mv="2.90")
        assert r.status_code == 400
        r = action(token, sid, {"rebuild": rb}, mv="2.90")
        assert r.status_code == 202, r.text
        assert r.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "mv2-rebuilt"
        wait_server(token, sid)
        s = nova(token, "GET", "/servers/%s" % sid, mv="2.90").json()["server"]
        assert s["OS-EXT-SRV-ATTR:hostname"] == "mv2-rebuilt"
    finally:
        delete_server(token, sid)
        delete_server(token, other)


def test_unshelve_to_host_2_91(compute, admin_token, member, image_id):
    token, _ = member
    sid = create_server(token, image_id, "mv2-unshelve")
    try:
        host = nova(admin_token, "GET", "/servers/%s" % sid,
                    mv="2.91").json()["server"]["OS-EXT-SRV-ATTR:host"]
        assert host
        assert action(token, sid, {"shelve": None}).status_code == 202
        wait_server(token, sid, "SHELVED")
        # Only a shelved-offloaded server may be given a zone or a host.
        for body in ({"host": host}, {"availability_zone": None},
                     {"availability_zone": "nova"}):
            r = action(admin_token, sid, {"unshelve": body}, mv="2.91")
            assert r.status_code == 409, (body, r.text)
            assert "The server status must be SHELVED_OFFLOADED" in r.text
        assert action(admin_token, sid, {"shelveOffload": None}).status_code == 202
        wait_server(token, sid, "SHELVED_OFFLOADED")

        # The 2.91 schema: an object of availability_zone (string or null)
        # and host (string), or null.
        for body in ({"host": 1}, {"availability_zone": 5}, {"x": 1}, "nova"):
            r = action(admin_token, sid, {"unshelve": body}, mv="2.91")
            assert r.status_code == 400, (body, r.text)
        # Below 2.91, host is unknown and a null zone is refused.
        assert action(admin_token, sid, {"unshelve": {"host": host}},
                      mv="2.90").status_code == 400
        assert action(admin_token, sid, {"unshelve": {"availability_zone": None}},
                      mv="2.90").status_code == 400
        r = action(admin_token, sid, {"unshelve": {"availability_zone": "nowhere"}}, mv="2.91")
        assert r.status_code == 400
        # A host is for admins, and must exist.
        r = action(token, sid, {"unshelve": {"host": host}}, mv="2.91")
        assert r.status_code == 403, r.text
        r = action(admin_token, sid, {"unshelve": {"host": "no-such-host"}}, mv="2.91")
        assert r.status_code == 400
        assert r.json()["badRequest"]["message"] == \
            "Compute host no-such-host could not be found."
        s = nova(token, "GET", "/servers/%s" % sid).json()["server"]
        assert s["status"] == "SHELVED_OFFLOADED" and not s["OS-EXT-STS:task_state"]

        r = action(admin_token, sid, {"unshelve": {"host": host, "availability_zone": None}},
                   mv="2.91")
        assert r.status_code == 202, r.text
        wait_server(token, sid)
        s = nova(admin_token, "GET", "/servers/%s" % sid, mv="2.91").json()["server"]
        assert s["OS-EXT-SRV-ATTR:host"] == host

        # {} is a plain unshelve at 2.91.
        assert action(token, sid, {"shelve": None}).status_code == 202
        wait_server(token, sid, "SHELVED")
        assert action(token, sid, {"unshelve": {}}, mv="2.91").status_code == 202
        wait_server(token, sid)
    finally:
        delete_server(token, sid)
