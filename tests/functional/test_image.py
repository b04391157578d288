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


@pytest.fixture(scope="module")
def other(stack, osc):
    """A second project with a member user, for sharing and isolation."""
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
    # the owner may not accept on the member's behalf
    r = http_session().put("%s/v2/images/%s/members/%s" % (IMG, iid, other["project_id"]),
                           headers=H(admin_token_of(stack)),
                           json={"status": "accepted"}, timeout=30)
    assert r.status_code == 403
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
