"""Compute behaviour the Tempest compute tier found missing or wrong, checked
with raw HTTP against the libvirt test:///default driver: OS-DCF:diskConfig
kept and changed by create/update/rebuild/resize, access addresses checked
and shown in canonical form, the 2.1 shape of the update and rebuild
answers, return_reservation_id, os-quota-class-sets, os-server-password,
createBackup with rotation, restore, and the 400s for networks and security
groups that do not exist."""
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import http_session

COMPUTE = "http://127.0.0.1:8774/v2.1"
GLANCE = "http://127.0.0.1:9292/v2"

# Keys the v2.0 extensions add to a server; 2.1's update and rebuild
# answers leave them out.
EXTENSION_KEYS = {"OS-EXT-STS:vm_state", "OS-EXT-STS:task_state", "OS-EXT-STS:power_state",
                  "OS-EXT-AZ:availability_zone", "OS-SRV-USG:launched_at", "config_drive",
                  "key_name", "security_groups", "os-extended-volumes:volumes_attached"}


def call(token, method, url, **kw):
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    return http_session().request(method, url, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def image_id(compute, admin_token):
    r = call(admin_token, "POST", GLANCE + "/images", json={
        "name": "conformance", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", f.name, "16M"], check=True)
        r = call(admin_token, "PUT", "%s/images/%s/file" % (GLANCE, iid), data=open(f.name, "rb"),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return iid


def server_get(token, sid):
    r = call(token, "GET", "%s/servers/%s" % (COMPUTE, sid))
    assert r.status_code == 200, r.text
    return r.json()["server"]


def wait_status(token, sid, want):
    s = None
    for _ in range(300):
        s = server_get(token, sid)
        if s["status"] == want and not s.get("OS-EXT-STS:task_state"):
            return s
        assert s["status"] != "ERROR", s
        time.sleep(0.1)
    raise AssertionError("server %s did not reach %s: %s" % (sid, want, s))


def create(token, image_id, **extra):
    body = {"server": dict({"name": "conf-" + uuid.uuid4().hex[:8], "imageRef": image_id,
                            "flavorRef": "1"}, **extra)}
    return call(token, "POST", COMPUTE + "/servers", json=body)


def boot(token, image_id, **extra):
    r = create(token, image_id, **extra)
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_status(token, sid, "ACTIVE")
    return sid, r.json()["server"]


def action(token, sid, body, **kw):
    return call(token, "POST", "%s/servers/%s/action" % (COMPUTE, sid), json=body, **kw)


def delete(token, sid):
    call(token, "DELETE", "%s/servers/%s" % (COMPUTE, sid))


def test_disk_config(compute, admin_token, image_id):
    r = create(admin_token, image_id, **{"OS-DCF:diskConfig": "SOMETIMES"})
    assert r.status_code == 400 and "OS-DCF:diskConfig" in r.text
    sid, created = boot(admin_token, image_id, **{"OS-DCF:diskConfig": "AUTO"})
    try:
        assert created["OS-DCF:diskConfig"] == "AUTO"
        assert server_get(admin_token, sid)["OS-DCF:diskConfig"] == "AUTO"
        # update: kept, and answered without the extension keys (2.1)
        r = call(admin_token, "PUT", "%s/servers/%s" % (COMPUTE, sid),
                 json={"server": {"OS-DCF:diskConfig": "MANUAL"}})
        assert r.status_code == 200, r.text
        assert r.json()["server"]["OS-DCF:diskConfig"] == "MANUAL"
        assert not EXTENSION_KEYS & set(r.json()["server"])
        assert server_get(admin_token, sid)["OS-DCF:diskConfig"] == "MANUAL"
        r = call(admin_token, "PUT", "%s/servers/%s" % (COMPUTE, sid),
                 json={"server": {"OS-DCF:diskConfig": 1}})
        assert r.status_code == 400
        # rebuild: takes the new value; its answer has the 2.1 shape too
        r = action(admin_token, sid, {"rebuild": {"imageRef": image_id,
                                                  "OS-DCF:diskConfig": "AUTO"}})
        assert r.status_code == 202, r.text
        assert not EXTENSION_KEYS & set(r.json()["server"])
        assert r.json()["server"]["adminPass"]
        assert wait_status(admin_token, sid, "ACTIVE")["OS-DCF:diskConfig"] == "AUTO"
        # resize without diskConfig sets MANUAL, as Nova's resize does
        r = action(admin_token, sid, {"resize": {"flavorRef": "2"}})
        assert r.status_code == 202, r.text
        assert wait_status(admin_token, sid, "VERIFY_RESIZE")["OS-DCF:diskConfig"] == "MANUAL"
        r = action(admin_token, sid, {"confirmResize": None})
        assert r.status_code == 204, r.text
    finally:
        delete(admin_token, sid)


def test_access_addresses(compute, admin_token, image_id):
    for field, bad in (("accessIPv4", "1.1.1.1.1.1"), ("accessIPv6", "notvalid"),
                       ("accessIPv4", "")):
        r = create(admin_token, image_id, **{field: bad})
        assert r.status_code == 400, r.text
        assert "Invalid input for field/attribute %s" % field in r.json()["badRequest"]["message"]
    sid, _ = boot(admin_token, image_id, accessIPv4="1.1.1.1",
                  accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2")
    try:
        s = server_get(admin_token, sid)
        assert s["accessIPv4"] == "1.1.1.1"
        assert s["accessIPv6"] == "::babe:dc0c:1602"
        r = call(admin_token, "PUT", "%s/servers/%s" % (COMPUTE, sid),
                 json={"server": {"accessIPv6": "2001:db8:0:0:0:0:0:1"}})
        assert r.status_code == 200 and r.json()["server"]["accessIPv6"] == "2001:db8::1"
        r = call(admin_token, "PUT", "%s/servers/%s" % (COMPUTE, sid),
                 json={"server": {"accessIPv4": "300.1.1.1"}})
        assert r.status_code == 400
        assert server_get(admin_token, sid)["accessIPv4"] == "1.1.1.1"
    finally:
        delete(admin_token, sid)


def test_return_reservation_id(compute, admin_token, image_id):
    name = "resv-" + uuid.uuid4().hex[:8]
    r = create(admin_token, image_id, name=name, min_count=2, return_reservation_id=True)
    assert r.status_code == 202, r.text
    body = r.json()
    assert list(body) == ["reservation_id"] and body["reservation_id"].startswith("r-")
    assert "Location" not in r.headers
    servers = call(admin_token, "GET", COMPUTE + "/servers", params={"name": name}).json()
    assert len(servers["servers"]) == 2
    for s in servers["servers"]:
        delete(admin_token, s["id"])
    r = create(admin_token, image_id, return_reservation_id="maybe")
    assert r.status_code == 400


def test_quota_class_sets(compute, admin_token, osc):
    url = COMPUTE + "/os-quota-class-sets/default"
    r = call(admin_token, "GET", url)
    assert r.status_code == 200, r.text
    before = r.json()["quota_class_set"]
    assert before["id"] == "default"
    # 2.1 leaves the server group quotas out of quota classes
    assert "server_groups" not in before and before["instances"] >= 1
    try:
        r = call(admin_token, "PUT", url, json={"quota_class_set": {"instances": 77,
                                                                   "cores": "55"}})
        assert r.status_code == 200, r.text
        got = r.json()["quota_class_set"]
        assert "id" not in got and got["instances"] == 77 and got["cores"] == 55
        assert call(admin_token, "GET", url).json()["quota_class_set"]["instances"] == 77
        # the default class is every project's default
        project = osc("project", "create", "qc-" + uuid.uuid4().hex[:8], "-f", "json")["id"]
        r = call(admin_token, "GET", "%s/os-quota-sets/%s" % (COMPUTE, project))
        assert r.json()["quota_set"]["instances"] == 77
        r = call(admin_token, "GET", "%s/os-quota-sets/%s/defaults" % (COMPUTE, project))
        assert r.json()["quota_set"]["cores"] == 55
        for bad in ({"instances": -2}, {"bogus": 1}, {"ram": "lots"}):
            r = call(admin_token, "PUT", url, json={"quota_class_set": bad})
            assert r.status_code == 400, (bad, r.text)
        assert call(admin_token, "PUT", url, json={}).status_code == 400
    finally:
        restore = {k: v for k, v in before.items() if k != "id"}
        r = call(admin_token, "PUT", url, json={"quota_class_set": restore})
        assert r.status_code == 200, r.text


def test_quota_class_sets_admin_only(compute, osc):
    name = "qcm-" + uuid.uuid4().hex[:8]
    osc("project", "create", name)
    osc("user", "create", "--project", name, "--password", "pw-" + name, name)
    osc("role", "add", "--project", name, "--user", name, "member")
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": "Default"}, "password": "pw-" + name}}},
        "scope": {"project": {"name": name, "domain": {"name": "Default"}}}}}
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", json=body, timeout=30)
    token = r.headers["X-Subject-Token"]
    url = COMPUTE + "/os-quota-class-sets/default"
    assert call(token, "GET", url).status_code == 403
    r = call(token, "PUT", url, json={"quota_class_set": {"instances": 1}})
    assert r.status_code == 403


def test_server_password(compute, admin_token, image_id):
    sid, _ = boot(admin_token, image_id)
    try:
        url = "%s/servers/%s/os-server-password" % (COMPUTE, sid)
        r = call(admin_token, "GET", url)
        assert r.status_code == 200 and r.json() == {"password": ""}
        assert call(admin_token, "DELETE", url).status_code == 204
        missing = "%s/servers/%s/os-server-password" % (COMPUTE, uuid.uuid4())
        assert call(admin_token, "GET", missing).status_code == 404
        assert call(admin_token, "DELETE", missing).status_code == 404
    finally:
        delete(admin_token, sid)


def _backups(token, sid):
    r = call(token, "GET", GLANCE + "/images", params={
        "image_type": "backup", "instance_uuid": sid, "backup_type": "daily",
        "sort_key": "created_at", "sort_dir": "asc"})
    assert r.status_code == 200, r.text
    return r.json()["images"]


def test_create_backup_rotation(compute, admin_token, image_id):
    sid, _ = boot(admin_token, image_id)
    try:
        for bad in ({"name": "b", "backup_type": "daily"},
                    {"name": "b", "backup_type": "daily", "rotation": -1},
                    {"name": "b", "backup_type": "daily", "rotation": 1, "color": "red"}):
            assert action(admin_token, sid, {"createBackup": bad}).status_code == 400
        names = []
        for n in range(3):
            names.append("backup-%d-%s" % (n, uuid.uuid4().hex[:6]))
            r = action(admin_token, sid, {"createBackup": {
                "name": names[-1], "backup_type": "daily", "rotation": 2}})
            assert r.status_code == 202, r.text
            image = r.headers["Location"].rsplit("/", 1)[1]
            wait_status(admin_token, sid, "ACTIVE")
            img = call(admin_token, "GET", "%s/images/%s" % (GLANCE, image)).json()
            assert img["status"] == "active" and img["image_type"] == "backup"
        # only the two newest are kept
        assert [i["name"] for i in _backups(admin_token, sid)] == names[1:]
        # rotation 0: no Location, and no backup of that type left
        r = action(admin_token, sid, {"createBackup": {
            "name": "last", "backup_type": "daily", "rotation": 0}})
        assert r.status_code == 202 and "Location" not in r.headers
        wait_status(admin_token, sid, "ACTIVE")
        for _ in range(100):
            if not _backups(admin_token, sid):
                break
            time.sleep(0.1)
        assert _backups(admin_token, sid) == []
        acts = call(admin_token, "GET", "%s/servers/%s/os-instance-actions" % (COMPUTE, sid))
        assert "createBackup" in {a["action"] for a in acts.json()["instanceActions"]}
        # from 2.45 the image id is in the body and there is no Location
        r = action(admin_token, sid, {"createBackup": {
            "name": "v245", "backup_type": "weekly", "rotation": 1}},
            headers={"OpenStack-API-Version": "compute 2.45"})
        assert r.status_code == 202 and "Location" not in r.headers, r.text
        img = call(admin_token, "GET", "%s/images/%s" % (GLANCE, r.json()["image_id"]))
        assert img.status_code == 200 and img.json()["backup_type"] == "weekly"
        wait_status(admin_token, sid, "ACTIVE")
    finally:
        delete(admin_token, sid)


def test_restore_and_unknown_networks(compute, admin_token, image_id):
    sid, _ = boot(admin_token, image_id)
    try:
        r = action(admin_token, sid, {"restore": None})
        assert r.status_code == 409 and "vm_state active" in r.text
    finally:
        delete(admin_token, sid)
    cases = [
        ({"networks": [{"uuid": "a-b-c-d"}]}, "network uuid is not in proper format"),
        ({"networks": [{"uuid": str(uuid.uuid4())}]}, "could not be found"),
        ({"networks": [{"port": str(uuid.uuid4())}]}, "could not be found"),
        ({"networks": [{"uuid": str(uuid.uuid4()), "fixed_ip": "10.0.0.300"}]}, "fixed_ip"),
        ({"networks": "everything"}, "networks"),
        ({"security_groups": [{"name": "does_not_exist"}]},
         "Unable to find security_group with name or id 'does_not_exist'"),
    ]
    for extra, text in cases:
        r = create(admin_token, image_id, **extra)
        assert r.status_code == 400 and text in r.json()["badRequest"]["message"], (extra, r.text)
    # the one security group there is, and an empty network list, are fine
    sid, _ = boot(admin_token, image_id, security_groups=[{"name": "default"}], networks=[])
    delete(admin_token, sid)
