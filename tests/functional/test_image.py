"""The image service (issue 4) through the unchanged openstack CLI and plain
HTTP: create with data, list/show/set/unset/delete/save, tags, sharing with
another project, the glance-direct import flow, and the bad inputs: a
declared format that does not match the data, a qcow2 with a backing file,
an interrupted upload, quotas, a PATCH of a read-only attribute and another
project's private image."""
import hashlib
import json
import os
import secrets
import socket
import subprocess
import time

import pytest

from conftest import http_session

IMG = "http://127.0.0.1:9292"


def qemu_img(*args):
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha512(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    f = {}
    f["qcow2"] = str(d / "disk.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", f["qcow2"], "64M")
    # some real data inside, so size and checksum mean something
    raw_src = str(d / "src.raw")
    with open(raw_src, "wb") as fh:
        fh.write(os.urandom(3 * 1024 * 1024 + 123))
    f["raw"] = raw_src
    f["qcow2_data"] = str(d / "data.qcow2")
    qemu_img("convert", "-q", "-f", "raw", "-O", "qcow2", raw_src, f["qcow2_data"])
    f["backing"] = str(d / "backed.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", f["backing"])
    f["dir"] = str(d)
    return f


def H(token, **extra):
    h = {"X-Auth-Token": token}
    h.update(extra)
    return h


def get_image(token, image_id):
    return http_session().get("%s/v2/images/%s" % (IMG, image_id), headers=H(token),
                              timeout=30)


def store_dir(stack):
    return os.path.join(stack.state_dir, "images")


def assert_nothing_stored(stack, image_id):
    assert not os.path.exists(os.path.join(store_dir(stack), image_id))
    assert not os.path.exists(os.path.join(store_dir(stack), "staging", image_id))
    tmp = os.path.join(store_dir(stack), "tmp")
    assert os.listdir(tmp) == [], os.listdir(tmp)


def new_queued(token, **attrs):
    body = {"name": "q-" + secrets.token_hex(3), "disk_format": "raw",
            "container_format": "bare"}
    body.update(attrs)
    r = http_session().post(IMG + "/v2/images", headers=H(token), json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def _project_with_member(stack, osc):
    name = "share-" + secrets.token_hex(3)
    pw = secrets.token_urlsafe(12)
    proj = osc("project", "create", "--domain", "default", name, "-f", "json")
    osc("user", "create", "--domain", "default", "--password", pw, "--project", name,
        name, "-f", "json")
    osc("role", "add", "--project", name, "--user", name, "member")
    env = stack.env(user=name, password=pw, project=name)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": "Default"}, "password": pw}}},
        "scope": {"project": {"name": name, "domain": {"name": "Default"}}}}}
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return {"env": env, "project_id": proj["id"], "token": r.headers["X-Subject-Token"],
            "name": name}


@pytest.fixture(scope="module")
def other(stack, osc):
    """A second project with a member user, for sharing and isolation."""
    return _project_with_member(stack, osc)


@pytest.fixture(scope="module")
def third(stack, osc):
    """A third project with a member user (non-admin owner/member pairs)."""
    return _project_with_member(stack, osc)


def test_versions_and_schemas(stack, admin_token):
    s = http_session()
    r = s.get(IMG + "/", timeout=10)
    assert r.status_code == 300
    ids = [v["id"] for v in r.json()["versions"]]
    assert ids[0] == "v2.15" and "v2.0" in ids
    assert r.json()["versions"][0]["status"] == "CURRENT"
    assert s.get(IMG + "/versions", timeout=10).status_code == 200
    r = s.get(IMG + "/v2/schemas/image", headers=H(admin_token), timeout=10)
    assert r.status_code == 200
    sch = r.json()
    assert sch["name"] == "image"
    assert "qcow2" in sch["properties"]["disk_format"]["enum"]
    assert sch["additionalProperties"] == {"type": "string"}
    for name in ("images", "member", "members"):
        r = s.get(IMG + "/v2/schemas/" + name, headers=H(admin_token), timeout=10)
        assert r.status_code == 200 and r.json()["name"] == name
    r = s.get(IMG + "/v2/info/import", headers=H(admin_token), timeout=10)
    assert r.json()["import-methods"]["value"] == ["glance-direct"]
    # schemas need a token, as in Glance
    assert s.get(IMG + "/v2/schemas/image", timeout=10).status_code == 401


def test_create_show_list_save_delete(stack, osc, files, tmp_path):
    created = osc("image", "create", "--file", files["qcow2_data"], "--disk-format", "qcow2",
                  "--container-format", "bare", "--public", "cirros-like", "-f", "json")
    # the CLI prints the image as created, before the upload: show it again
    img = osc("image", "show", created["id"], "-f", "json")
    assert img["status"] == "active"
    assert img["visibility"] == "public"
    assert img["checksum"] == md5(files["qcow2_data"])
    assert img["size"] == os.path.getsize(files["qcow2_data"])
    shown = img
    # openstacksdk files os_hash_* under properties
    hashes = dict(shown, **shown.get("properties", {}))
    assert hashes["os_hash_algo"] == "sha512"
    assert hashes["os_hash_value"] == sha512(files["qcow2_data"])
    # qemu-img rounds the raw source up to whole sectors
    assert shown["virtual_size"] == (os.path.getsize(files["raw"]) + 511) // 512 * 512
    assert shown["disk_format"] == "qcow2"
    listed = osc("image", "list", "-f", "json")
    assert img["id"] in [i["ID"] for i in listed]
    # image save streams the data back, identical
    out = str(tmp_path / "saved.qcow2")
    osc("image", "save", "--file", out, img["id"])
    assert md5(out) == img["checksum"]
    # a data file exists in the store, and goes with the image
    assert os.path.exists(os.path.join(store_dir(stack), img["id"]))
    osc("image", "delete", img["id"])
    assert not os.path.exists(os.path.join(store_dir(stack), img["id"]))
    p = osc("image", "show", img["id"], check=False)
    assert p.returncode != 0


def test_set_unset_tags_protected(stack, osc, files, admin_token):
    img = osc("image", "create", "--file", files["raw"], "--disk-format", "raw",
              "--container-format", "bare", "--property", "os_distro=cirros",
              "--tag", "first", "settest", "-f", "json")
    iid = img["id"]
    osc("image", "set", "--name", "renamed", "--min-disk", "2", "--min-ram", "128",
        "--property", "hw_disk_bus=virtio", "--tag", "second", "--protected", iid)
    s = osc("image", "show", iid, "-f", "json")
    assert s["name"] == "renamed"
    assert s["min_disk"] == 2 and s["min_ram"] == 128
    assert s["protected"] is True
    assert sorted(s["tags"]) == ["first", "second"]
    props = s["properties"]
    assert props["hw_disk_bus"] == "virtio" and props["os_distro"] == "cirros"
    # filters: tag, property, name, status
    byname = osc("image", "list", "--name", "renamed", "-f", "json")
    assert [i["ID"] for i in byname] == [iid]
    bytag = osc("image", "list", "--tag", "second", "-f", "json")
    assert iid in [i["ID"] for i in bytag]
    byprop = osc("image", "list", "--property", "hw_disk_bus=virtio", "-f", "json")
    assert iid in [i["ID"] for i in byprop]
    # protected: delete refused
    p = osc("image", "delete", iid, check=False)
    assert p.returncode != 0
    r = http_session().delete("%s/v2/images/%s" % (IMG, iid), headers=H(admin_token),
                              timeout=30)
    assert r.status_code == 403
    osc("image", "unset", "--property", "hw_disk_bus", "--tag", "first", iid)
    osc("image", "set", "--unprotected", iid)
    s = osc("image", "show", iid, "-f", "json")
    assert "hw_disk_bus" not in s.get("properties", {})
    assert s["tags"] == ["second"]
    osc("image", "delete", iid)


def test_list_sort_and_pagination(stack, admin_token):
    s = http_session()
    ids = []
    tag = "page-" + secrets.token_hex(3)
    for i in range(5):
        ids.append(new_queued(admin_token, name="pg-%d" % i, tags=[tag])["id"])
    seen = []
    url = "%s/v2/images?tag=%s&limit=2&sort=name:asc" % (IMG, tag)
    while url:
        r = s.get(url, headers=H(admin_token), timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [i["name"] for i in body["images"]]
        url = IMG + body["next"] if "next" in body else None
    assert seen == ["pg-%d" % i for i in range(5)]
    r = s.get("%s/v2/images?tag=%s&sort_key=name&sort_dir=desc" % (IMG, tag),
              headers=H(admin_token), timeout=30)
    assert [i["name"] for i in r.json()["images"]] == ["pg-%d" % i for i in range(4, -1, -1)]
    r = s.get("%s/v2/images?tag=%s&name=in:pg-1,pg-3" % (IMG, tag), headers=H(admin_token),
              timeout=30)
    assert sorted(i["name"] for i in r.json()["images"]) == ["pg-1", "pg-3"]
    r = s.get("%s/v2/images?tag=%s&created_at=gte:2000-01-01T00:00:00Z&status=queued"
              % (IMG, tag), headers=H(admin_token), timeout=30)
    assert len(r.json()["images"]) == 5
    r = s.get("%s/v2/images?sort_key=bogus" % IMG, headers=H(admin_token), timeout=30)
    assert r.status_code == 400
    r = s.get("%s/v2/images?limit=-1" % IMG, headers=H(admin_token), timeout=30)
    assert r.status_code == 400
    for i in ids:
        s.delete("%s/v2/images/%s" % (IMG, i), headers=H(admin_token), timeout=30)


def test_patch_read_only_and_rules(stack, admin_token):
    img = new_queued(admin_token)
    s = http_session()
    url = "%s/v2/images/%s" % (IMG, img["id"])
    patch = "application/openstack-images-v2.1-json-patch"
    r = s.patch(url, headers=H(admin_token, **{"Content-Type": patch}),
                data=json.dumps([{"op": "replace", "path": "/status", "value": "active"}]),
                timeout=30)
    assert r.status_code == 403, r.text
    assert "read-only" in r.text
    r = s.patch(url, headers=H(admin_token, **{"Content-Type": patch}),
                data=json.dumps([{"op": "remove", "path": "/nonexistent"}]), timeout=30)
    assert r.status_code == 409
    r = s.patch(url, headers=H(admin_token, **{"Content-Type": "application/json"}),
                data="[]", timeout=30)
    assert r.status_code == 415
    r = s.patch(url, headers=H(admin_token, **{"Content-Type": patch}),
                data=json.dumps([{"op": "add", "path": "/foo", "value": "bar"},
                                 {"op": "replace", "path": "/name", "value": "n2"}]),
                timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["foo"] == "bar" and r.json()["name"] == "n2"
    r = s.post(IMG + "/v2/images", headers=H(admin_token),
               json={"name": "x", "disk_format": "floppy"}, timeout=30)
    assert r.status_code == 400
    r = s.post(IMG + "/v2/images", headers=H(admin_token), json={"id": img["id"]},
               timeout=30)
    assert r.status_code == 409
    s.delete(url, headers=H(admin_token), timeout=30)


def _put_file(token, image_id, path):
    with open(path, "rb") as f:
        return http_session().put("%s/v2/images/%s/file" % (IMG, image_id), data=f,
                                  headers=H(token, **{"Content-Type":
                                                      "application/octet-stream"}),
                                  timeout=60)


def test_declared_format_mismatch(stack, osc, files, admin_token):
    # a qcow2 file declared raw: 400 in Glance's error style, nothing
    # stored, image back to queued
    img = new_queued(admin_token, disk_format="raw")
    r = _put_file(admin_token, img["id"], files["qcow2"])
    assert r.status_code == 400, r.text
    assert "does not match" in r.text
    assert get_image(admin_token, img["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img["id"])
    # raw data declared qcow2
    img2 = new_queued(admin_token, disk_format="qcow2")
    r = _put_file(admin_token, img2["id"], files["raw"])
    assert r.status_code == 400, r.text
    assert get_image(admin_token, img2["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img2["id"])
    # the CLI reports the failure (openstacksdk then deletes the image)
    name = "mismatch-" + secrets.token_hex(3)
    p = osc("image", "create", "--file", files["qcow2"], "--disk-format", "raw",
            "--container-format", "bare", name, check=False)
    assert p.returncode != 0
    for i in osc("image", "list", "--name", name, "-f", "json"):
        assert_nothing_stored(stack, i["ID"])
    osc("image", "delete", img["id"], img2["id"])


def test_qcow2_backing_file_refused(stack, osc, files, admin_token):
    img = new_queued(admin_token, disk_format="qcow2")
    r = _put_file(admin_token, img["id"], files["backing"])
    assert r.status_code == 400, r.text
    assert "backing file" in r.text
    assert get_image(admin_token, img["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img["id"])
    name = "backed-" + secrets.token_hex(3)
    p = osc("image", "create", "--file", files["backing"], "--disk-format", "qcow2",
            "--container-format", "bare", name, check=False)
    assert p.returncode != 0
    assert "backing file" in p.stderr + p.stdout, p.stderr
    for i in osc("image", "list", "--name", name, "-f", "json"):
        assert i["Status"] == "queued"
        assert_nothing_stored(stack, i["ID"])
    osc("image", "delete", img["id"])


def _start_raw_upload(token, image_id, total, send):
    sock = socket.create_connection(("127.0.0.1", 9292), timeout=30)
    head = ("PUT /v2/images/%s/file HTTP/1.1\r\nHost: 127.0.0.1:9292\r\n"
            "X-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: %d\r\n\r\n" % (image_id, token, total))
    sock.sendall(head.encode())
    chunk = os.urandom(1 << 16)
    sent = 0
    while sent < send:
        sock.sendall(chunk)
        sent += len(chunk)
    return sock


def _wait_status(token, image_id, want, timeout=20):
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        status = get_image(token, image_id).json()["status"]
        if status == want:
            return
        time.sleep(0.1)
    raise AssertionError("image %s is %s, not %s" % (image_id, status, want))


def test_interrupted_upload(stack, admin_token):
    img = new_queued(admin_token)
    sock = _start_raw_upload(admin_token, img["id"], 64 << 20, 8 << 20)
    _wait_status(admin_token, img["id"], "saving")
    sock.close()   # the client goes away mid-upload
    _wait_status(admin_token, img["id"], "queued")
    assert_nothing_stored(stack, img["id"])
    # the image can be uploaded again afterwards
    r = http_session().put("%s/v2/images/%s/file" % (IMG, img["id"]), data=b"x" * 4096,
                           headers=H(admin_token, **{"Content-Type":
                                                     "application/octet-stream"}),
                           timeout=30)
    assert r.status_code == 204, r.text
    assert get_image(admin_token, img["id"]).json()["status"] == "active"
    http_session().delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token),
                          timeout=30)


def test_crash_during_upload(stack, admin_token):
    img = new_queued(admin_token)
    sock = _start_raw_upload(admin_token, img["id"], 64 << 20, 4 << 20)
    _wait_status(admin_token, img["id"], "saving")
    stack.kill_daemon()
    sock.close()
    stack.start_daemon()
    assert get_image(admin_token, img["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img["id"])
    http_session().delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token),
                          timeout=30)


def test_download_range(stack, admin_token, files):
    img = new_queued(admin_token)
    with open(files["raw"], "rb") as f:
        data = f.read()
    s = http_session()
    r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=data,
              headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
              timeout=60)
    assert r.status_code == 204
    url = "%s/v2/images/%s/file" % (IMG, img["id"])
    r = s.get(url, headers=H(admin_token), timeout=60)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    r = s.get(url, headers=H(admin_token, Range="bytes=100-1099"), timeout=60)
    assert r.status_code == 206
    assert r.content == data[100:1100]
    assert r.headers["Content-Range"] == "bytes 100-1099/%d" % len(data)
    r = s.get(url, headers=H(admin_token, Range="bytes=-10"), timeout=60)
    assert r.status_code == 206 and r.content == data[-10:]
    r = s.get(url, headers=H(admin_token, Range="bytes=%d-" % (len(data) + 5)), timeout=60)
    assert r.status_code == 416
    # deactivated: no download for non-admins, reactivation restores
    assert s.post(url.replace("/file", "/actions/deactivate"), headers=H(admin_token),
                  timeout=30).status_code == 204
    assert get_image(admin_token, img["id"]).json()["status"] == "deactivated"
    assert s.post(url.replace("/file", "/actions/reactivate"), headers=H(admin_token),
                  timeout=30).status_code == 204
    s.delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token), timeout=30)


def test_private_image_of_other_project(stack, osc, other, admin_token):
    img = new_queued(admin_token, visibility="private")
    r = get_image(other["token"], img["id"])
    assert r.status_code == 404
    p = osc("image", "show", img["id"], env=other["env"], check=False)
    assert p.returncode != 0
    listed = osc("image", "list", "-f", "json", env=other["env"])
    assert img["id"] not in [i["ID"] for i in listed]
    r = http_session().delete("%s/v2/images/%s" % (IMG, img["id"]),
                              headers=H(other["token"]), timeout=30)
    assert r.status_code == 404
    http_session().delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token),
                          timeout=30)


def test_sharing(stack, osc, other, files):
    img = osc("image", "create", "--file", files["raw"], "--disk-format", "raw",
              "--container-format", "bare", "--shared", "shared-img", "-f", "json")
    iid = img["id"]
    osc("image", "add", "project", iid, other["project_id"])
    # pending: visible by id, not in the member's default list
    assert osc("image", "show", iid, "-f", "json", env=other["env"])["id"] == iid
    assert iid not in [i["ID"] for i in osc("image", "list", "-f", "json",
                                            env=other["env"])]
    # the owner may not accept on the member's behalf (Glance lets an admin
    # do it, so this is checked with a non-admin owner below, in
    # test_member_status_owner_refused)
    osc("image", "set", "--accept", iid, env=other["env"])
    assert iid in [i["ID"] for i in osc("image", "list", "-f", "json", env=other["env"])]
    members = osc("image", "member", "list", iid, "-f", "json")
    assert [(m["Member ID"], m["Status"]) for m in members] == [(other["project_id"],
                                                                 "accepted")]
    # the member can download, not modify or delete
    out = os.path.join(files["dir"], "member-save.raw")
    osc("image", "save", "--file", out, iid, env=other["env"])
    assert md5(out) == md5(files["raw"])
    p = osc("image", "set", "--name", "stolen", iid, env=other["env"], check=False)
    assert p.returncode != 0
    osc("image", "remove", "project", iid, other["project_id"])
    p = osc("image", "show", iid, env=other["env"], check=False)
    assert p.returncode != 0
    osc("image", "delete", iid)


def admin_token_of(stack):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": stack.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", json=body, timeout=30)
    return r.headers["X-Subject-Token"]


def test_import_flow(stack, osc, files):
    img = osc("image", "create", "--import", "--file", files["qcow2_data"], "--disk-format",
              "qcow2", "--container-format", "bare", "imported", "-f", "json")
    iid = img["id"]
    deadline = time.time() + 30
    while True:
        s = osc("image", "show", iid, "-f", "json")
        if s["status"] == "active" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert s["status"] == "active"
    assert s["checksum"] == md5(files["qcow2_data"])
    assert not os.path.exists(os.path.join(store_dir(stack), "staging", iid))
    osc("image", "delete", iid)


def test_quotas(stack, osc, other, files):
    try:
        stack.stop_daemon()
        stack.write_config(overrides={"image": {"image_count_quota": "2",
                                                "storage_quota": "1048576"}})
        stack.start_daemon()
        tok = other["token"]
        a = new_queued(tok)
        new_queued(tok)
        r = http_session().post(IMG + "/v2/images", headers=H(tok),
                                json={"name": "third"}, timeout=30)
        assert r.status_code == 413, r.text
        # 3 MiB into a 1 MiB storage quota
        with open(files["raw"], "rb") as f:
            r = http_session().put("%s/v2/images/%s/file" % (IMG, a["id"]), data=f,
                                   headers=H(tok, **{"Content-Type":
                                                     "application/octet-stream"}),
                                   timeout=60)
        assert r.status_code == 413, r.text
        assert get_image(tok, a["id"]).json()["status"] == "queued"
        assert_nothing_stored(stack, a["id"])
        p = osc("image", "create", "--file", files["raw"], "--disk-format", "raw",
                "--container-format", "bare", "over", env=other["env"], check=False)
        assert p.returncode != 0
    finally:
        stack.stop_daemon()
        stack.write_config()
        stack.start_daemon()
    for i in osc("image", "list", "--project", other["project_id"], "-f", "json"):
        osc("image", "delete", i["ID"])


# ---- sharing details: member status, owner refused, reject ----------------

def test_member_status_owner_refused(stack, osc, other, third):
    """A non-admin owner may add a member but not set its status; the member
    accepts or rejects for itself; member_status filters its listing."""
    s = http_session()
    tok, mtok, member = other["token"], third["token"], third["project_id"]
    img = new_queued(tok, visibility="shared")
    iid = img["id"]
    murl = "%s/v2/images/%s/members" % (IMG, iid)
    r = s.post(murl, headers=H(tok), json={"member": member}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    # adding twice: 409; a member may not add members
    assert s.post(murl, headers=H(tok), json={"member": member},
                  timeout=30).status_code == 409
    assert s.post(murl, headers=H(mtok), json={"member": other["project_id"]},
                  timeout=30).status_code == 403
    # the (non-admin) owner may not accept for the member
    r = s.put("%s/%s" % (murl, member), headers=H(tok), json={"status": "accepted"},
              timeout=30)
    assert r.status_code == 403, r.text
    # a bad status is 400
    r = s.put("%s/%s" % (murl, member), headers=H(mtok), json={"status": "maybe"},
              timeout=30)
    assert r.status_code == 400
    r = s.get(murl, headers=H(tok), timeout=30)
    assert [(m["member_id"], m["status"]) for m in r.json()["members"]] == [
        (member, "pending")]

    def listed(status):
        r = s.get("%s/v2/images?member_status=%s" % (IMG, status), headers=H(mtok),
                  timeout=30)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["images"]]
    assert iid in listed("pending") and iid in listed("all")
    assert iid not in listed("accepted") and iid not in listed("rejected")
    assert iid not in [i["ID"] for i in osc("image", "list", "-f", "json",
                                            env=third["env"])]
    assert s.get(IMG + "/v2/images?member_status=bogus", headers=H(mtok),
                 timeout=30).status_code == 400
    # reject with the CLI, as the member
    osc("image", "set", "--reject", iid, env=third["env"])
    assert iid in listed("rejected") and iid not in listed("pending")
    members = osc("image", "member", "list", iid, "-f", "json", env=other["env"])
    assert [(m["Member ID"], m["Status"]) for m in members] == [(member, "rejected")]
    # still readable by id, as in Glance
    assert get_image(mtok, iid).status_code == 200
    osc("image", "set", "--accept", iid, env=third["env"])
    assert iid in listed("accepted") and iid in listed("all")
    assert iid in [i["ID"] for i in osc("image", "list", "-f", "json", env=third["env"])]
    # the member sees only its own record; only the owner removes members
    r = s.delete("%s/%s" % (murl, member), headers=H(mtok), timeout=30)
    assert r.status_code == 403
    r = s.delete("%s/%s" % (murl, member), headers=H(tok), timeout=30)
    assert r.status_code == 204
    assert get_image(mtok, iid).status_code == 404
    # members only on shared images
    priv = new_queued(tok, visibility="private")
    r = s.post("%s/v2/images/%s/members" % (IMG, priv["id"]), headers=H(tok),
               json={"member": member}, timeout=30)
    assert r.status_code == 403
    for i in (iid, priv["id"]):
        assert s.delete("%s/v2/images/%s" % (IMG, i), headers=H(tok),
                        timeout=30).status_code == 204


# ---- listing: filters with operators, sort, next ----------------------------

def test_list_filters_operators(stack, osc, admin_token):
    s = http_session()
    tag = "flt-" + secrets.token_hex(3)
    sizes = [1000, 5000, 20000]
    ids = []
    for n, size in enumerate(sizes):
        img = new_queued(admin_token, name="flt-%d" % n, tags=[tag, "t%d" % n],
                         disk_format="raw" if n < 2 else "ami")
        r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=b"\0" * size,
                  headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
                  timeout=30)
        assert r.status_code == 204, r.text
        ids.append(img["id"])
        time.sleep(1.1)     # distinct created_at seconds

    def names(query):
        r = s.get("%s/v2/images?tag=%s&%s" % (IMG, tag, query), headers=H(admin_token),
                  timeout=30)
        assert r.status_code == 200, (query, r.text)
        return sorted(i["name"] for i in r.json()["images"])

    assert names("size=5000") == ["flt-1"]
    assert names("size_min=5000") == ["flt-1", "flt-2"]
    assert names("size_max=5000") == ["flt-0", "flt-1"]
    assert names("size_min=1001&size_max=19999") == ["flt-1"]
    assert names("disk_format=ami") == ["flt-2"]
    assert names("disk_format=in:raw,ami") == ["flt-0", "flt-1", "flt-2"]
    assert names('name=in:"flt-0",flt-2') == ["flt-0", "flt-2"]
    # several tags: all must be present
    assert names("tag=t1") == ["flt-1"]
    assert names("tag=t1&tag=t2") == []
    # created_at with operators, against the middle image's own timestamp
    mid = get_image(admin_token, ids[1]).json()["created_at"]
    assert names("created_at=gt:" + mid) == ["flt-2"]
    assert names("created_at=gte:" + mid) == ["flt-1", "flt-2"]
    assert names("created_at=lt:" + mid) == ["flt-0"]
    assert names("created_at=lte:" + mid) == ["flt-0", "flt-1"]
    assert names("created_at=eq:" + mid) == ["flt-1"]
    assert names("created_at=neq:" + mid) == ["flt-0", "flt-2"]
    assert names("updated_at=gte:2000-01-01T00:00:00Z") == ["flt-0", "flt-1", "flt-2"]
    # Glance: anything before a colon is an operator, refused unless known
    for bad in ("created_at=gt:yesterday", "created_at=foo:" + mid, "size_min=big",
                "status=gt:active", "name=nope:x", "created_at=in:" + mid):
        r = s.get("%s/v2/images?%s" % (IMG, bad), headers=H(admin_token), timeout=30)
        assert r.status_code == 400, (bad, r.status_code, r.text)
    # multi-key sort and the next link, followed until the end
    seen = []
    url = "%s/v2/images?tag=%s&limit=1&sort=size:desc,name:asc" % (IMG, tag)
    while url:
        r = s.get(url, headers=H(admin_token), timeout=30)
        body = r.json()
        seen += [i["name"] for i in body["images"]]
        assert body["first"].startswith("/v2/images")
        url = IMG + body["next"] if "next" in body else None
        assert len(seen) <= 3
    assert seen == ["flt-2", "flt-1", "flt-0"]
    # the classic form, and the mix of both refused as Glance does
    r = s.get("%s/v2/images?tag=%s&sort_key=size&sort_dir=asc" % (IMG, tag),
              headers=H(admin_token), timeout=30)
    assert [i["name"] for i in r.json()["images"]] == ["flt-0", "flt-1", "flt-2"]
    r = s.get("%s/v2/images?sort=name&sort_key=size" % IMG, headers=H(admin_token),
              timeout=30)
    assert r.status_code == 400
    # a marker that does not exist: 400
    r = s.get("%s/v2/images?marker=%s" % (IMG, "00000000-0000-0000-0000-000000000000"),
              headers=H(admin_token), timeout=30)
    assert r.status_code == 400
    # the CLI's own filters and sort
    cli = osc("image", "list", "--tag", tag, "--sort", "name:desc", "--limit", "2", "-f",
              "json")
    assert [i["Name"] for i in cli] == ["flt-2", "flt-1"]
    for i in ids:
        s.delete("%s/v2/images/%s" % (IMG, i), headers=H(admin_token), timeout=30)


# ---- deactivate / reactivate -----------------------------------------------

def test_deactivate_reactivate(stack, osc, other, files, tmp_path):
    img = osc("image", "create", "--file", files["raw"], "--disk-format", "raw",
              "--container-format", "bare", "--public", "deact", "-f", "json")
    iid = img["id"]
    osc("image", "set", "--deactivate", iid)
    assert osc("image", "show", iid, "-f", "json")["status"] == "deactivated"
    # non-admins may not download a deactivated image, admins may
    r = http_session().get("%s/v2/images/%s/file" % (IMG, iid), headers=H(other["token"]),
                           timeout=30)
    assert r.status_code == 403, r.text
    out = str(tmp_path / "deact.raw")
    osc("image", "save", "--file", out, iid)
    assert md5(out) == md5(files["raw"])
    # a non-owner may not reactivate; a queued image may not be deactivated
    r = http_session().post("%s/v2/images/%s/actions/reactivate" % (IMG, iid),
                            headers=H(other["token"]), timeout=30)
    assert r.status_code == 403
    q = new_queued(other["token"])
    r = http_session().post("%s/v2/images/%s/actions/deactivate" % (IMG, q["id"]),
                            headers=H(other["token"]), timeout=30)
    assert r.status_code == 403
    osc("image", "set", "--activate", iid)
    assert osc("image", "show", iid, "-f", "json")["status"] == "active"
    r = http_session().get("%s/v2/images/%s/file" % (IMG, iid), headers=H(other["token"]),
                           timeout=30)
    assert r.status_code == 200 and hashlib.md5(r.content).hexdigest() == md5(files["raw"])
    osc("image", "delete", iid)
    osc("image", "delete", q["id"])


def test_info_import_and_stores(stack, admin_token):
    s = http_session()
    r = s.get(IMG + "/v2/info/import", headers=H(admin_token), timeout=10)
    assert r.status_code == 200
    assert r.json()["import-methods"]["value"] == ["glance-direct"]
    r = s.get(IMG + "/v2/info/stores", headers=H(admin_token), timeout=10)
    assert r.status_code == 200
    stores = r.json()["stores"]
    # as Glance with one enabled backend: "default" is the string "true"
    assert len(stores) == 1 and stores[0]["default"] == "true" and stores[0]["id"]
    assert s.get(IMG + "/v2/info/stores", timeout=10).status_code == 401
    # an image with data names its store; one without has none
    img = new_queued(admin_token)
    assert "stores" not in get_image(admin_token, img["id"]).json()
    r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=b"x" * 512,
              headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
              timeout=30)
    assert r.status_code == 204
    assert get_image(admin_token, img["id"]).json()["stores"] == stores[0]["id"]
    s.delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token), timeout=30)


# ---- global maximum image size ---------------------------------------------

def _chunks(data, n=1 << 16):
    for i in range(0, len(data), n):
        yield data[i:i + n]


def test_image_size_cap(stack, admin_token, files):
    try:
        stack.stop_daemon()
        stack.write_config(overrides={"image": {"image_size_cap": "1048576"}})
        stack.start_daemon()
        s = http_session()
        with open(files["raw"], "rb") as f:
            data = f.read()          # 3 MiB and a bit
        # announced by Content-Length: refused before any byte is stored
        img = new_queued(admin_token)
        r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=data,
                  headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
                  timeout=60)
        assert r.status_code == 413, r.text
        assert get_image(admin_token, img["id"]).json()["status"] == "queued"
        assert_nothing_stored(stack, img["id"])
        # chunked: refused once the limit is crossed
        r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=_chunks(data),
                  headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
                  timeout=60)
        assert r.status_code == 413, r.text
        assert get_image(admin_token, img["id"]).json()["status"] == "queued"
        assert_nothing_stored(stack, img["id"])
        # the same through staging
        r = s.put("%s/v2/images/%s/stage" % (IMG, img["id"]), data=_chunks(data),
                  headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
                  timeout=60)
        assert r.status_code == 413, r.text
        assert get_image(admin_token, img["id"]).json()["status"] == "queued"
        assert_nothing_stored(stack, img["id"])
        # exactly at the cap is fine
        r = s.put("%s/v2/images/%s/file" % (IMG, img["id"]), data=data[:1048576],
                  headers=H(admin_token, **{"Content-Type": "application/octet-stream"}),
                  timeout=60)
        assert r.status_code == 204, r.text
        s.delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token), timeout=30)
    finally:
        stack.stop_daemon()
        stack.write_config()
        stack.start_daemon()


# ---- formats: detection and the unsafe ones ---------------------------------

def _iso(path, blocks=64):
    buf = bytearray(blocks * 2048)
    pvd = 16 * 2048
    buf[pvd] = 1
    buf[pvd + 1:pvd + 6] = b"CD001"
    buf[pvd + 6] = 1
    buf[pvd + 40:pvd + 54] = b"MONOSTACK_TEST"
    buf[pvd + 80:pvd + 84] = blocks.to_bytes(4, "little")
    buf[pvd + 84:pvd + 88] = blocks.to_bytes(4, "big")
    buf[pvd + 128:pvd + 130] = (2048).to_bytes(2, "little")
    buf[pvd + 130:pvd + 132] = (2048).to_bytes(2, "big")
    term = 17 * 2048
    buf[term] = 255
    buf[term + 1:term + 6] = b"CD001"
    buf[term + 6] = 1
    with open(path, "wb") as f:
        f.write(buf)


@pytest.fixture(scope="module")
def fmt_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    f = {}
    for name, fmt, opts in (("vmdk", "vmdk", None), ("vhd", "vpc", None),
                            ("vhdx", "vhdx", None)):
        # a long name: the embedded descriptor is edited in place below
        f[name] = str(d / ("sparse-disk-image." + name))
        args = ["create", "-q", "-f", fmt]
        if opts:
            args += ["-o", opts]
        qemu_img(*args, f[name], "32M")
    f["iso"] = str(d / "disk.iso")
    _iso(f["iso"])
    # a VMDK text descriptor whose flat extent is a host file
    f["vmdk_desc"] = str(d / "desc.vmdk")
    with open(f["vmdk_desc"], "w") as fh:
        fh.write('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                 'createType="monolithicFlat"\n\n# Extent description\n'
                 'RW 2048 FLAT "/etc/passwd" 0\n\nddb.virtualHWVersion = "4"\n')
    # a sparse VMDK whose embedded descriptor was edited to a host file extent
    f["vmdk_flat"] = str(d / "evil.vmdk")
    with open(f["vmdk"], "rb") as fh:
        data = bytearray(fh.read())
    start = data.index(b'RW 65536 SPARSE "')
    end = data.index(b"\n", start)
    line = b'RW 65536 FLAT "/etc/shadow" 0'
    assert len(line) <= end - start
    data[start:end] = line.ljust(end - start, b" ")
    with open(f["vmdk_flat"], "wb") as fh:
        fh.write(data)
    # qcow2 with an external data file
    f["data_file"] = str(d / "ext.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-o",
             "data_file=%s,data_file_raw=on" % (d / "ext.raw"), f["data_file"], "16M")
    return f


@pytest.mark.parametrize("fmt,vsize", [("vmdk", 32 << 20), ("vhd", None),
                                       ("vhdx", 32 << 20), ("iso", 64 * 2048)])
def test_format_detected(stack, admin_token, fmt_files, files, fmt, vsize):
    img = new_queued(admin_token, disk_format=fmt)
    r = _put_file(admin_token, img["id"], fmt_files[fmt])
    assert r.status_code == 204, r.text
    got = get_image(admin_token, img["id"]).json()
    assert got["status"] == "active"
    if vsize is None:     # VHD geometry rounds the size (as qemu does)
        info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", "vpc",
                                          fmt_files[fmt]], check=True, capture_output=True,
                                         text=True).stdout)
        vsize = info["virtual-size"]
    assert got["virtual_size"] == vsize
    # the same data declared as another inspected format, or raw declared as it
    wrong = {"vmdk": "vhdx", "vhd": "vmdk", "vhdx": "qcow2", "iso": "vhd"}[fmt]
    img2 = new_queued(admin_token, disk_format=wrong)
    r = _put_file(admin_token, img2["id"], fmt_files[fmt])
    assert r.status_code == 400, r.text
    assert "does not match" in r.text
    assert get_image(admin_token, img2["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img2["id"])
    img3 = new_queued(admin_token, disk_format=fmt)
    r = _put_file(admin_token, img3["id"], files["raw"])
    # raw bytes declared as an inspected format (for iso: no volume descriptor)
    assert r.status_code == 400, r.text
    assert_nothing_stored(stack, img3["id"])
    for i in (img, img2, img3):
        http_session().delete("%s/v2/images/%s" % (IMG, i["id"]), headers=H(admin_token),
                              timeout=30)


@pytest.mark.parametrize("key,declared,needle", [
    ("vmdk_desc", "vmdk", "extents outside the image"),
    ("vmdk_flat", "vmdk", "extents outside the image"),
    ("data_file", "qcow2", "external data file"),
    # declared raw: the content is still inspected and refused
    ("data_file", "raw", "external data file"),
    ("vmdk_flat", "raw", "extents outside the image"),
])
def test_unsafe_images_refused(stack, osc, admin_token, fmt_files, key, declared, needle):
    img = new_queued(admin_token, disk_format=declared)
    r = _put_file(admin_token, img["id"], fmt_files[key])
    assert r.status_code == 400, r.text
    assert needle in r.text, r.text
    assert get_image(admin_token, img["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img["id"])
    # the import flow refuses it too
    r = http_session().put("%s/v2/images/%s/stage" % (IMG, img["id"]),
                           data=open(fmt_files[key], "rb").read(),
                           headers=H(admin_token, **{"Content-Type":
                                                     "application/octet-stream"}),
                           timeout=30)
    assert r.status_code == 400, r.text
    assert get_image(admin_token, img["id"]).json()["status"] == "queued"
    assert_nothing_stored(stack, img["id"])
    http_session().delete("%s/v2/images/%s" % (IMG, img["id"]), headers=H(admin_token),
                          timeout=30)
    if key == "vmdk_flat" and declared == "vmdk":
        name = "evil-" + secrets.token_hex(3)
        p = osc("image", "create", "--file", fmt_files[key], "--disk-format", "vmdk",
                "--container-format", "bare", name, check=False)
        assert p.returncode != 0
        assert needle in p.stdout + p.stderr
        for i in osc("image", "list", "--name", name, "-f", "json"):
            assert_nothing_stored(stack, i["ID"])
            osc("image", "delete", i["ID"])


def test_trailing_slash_is_not_the_collection(stack, admin_token):
    """As in Glance (tempest's null-id tests): /v2/images/ is no image."""
    s = http_session()
    for method in ("GET", "DELETE", "PATCH"):
        r = s.request(method, IMG + "/v2/images/", headers=H(admin_token), timeout=10)
        assert r.status_code == 404, (method, r.status_code, r.text)
    r = s.get(IMG + "/v2/images/%s/" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12),
              headers=H(admin_token), timeout=10)
    assert r.status_code == 404
    assert s.get(IMG + "/v2/images", headers=H(admin_token), timeout=10).status_code == 200
    assert s.get(IMG + "/v2/", timeout=10).status_code == s.get(IMG + "/v2",
                                                               timeout=10).status_code
