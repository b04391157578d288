"""Server create parameters beyond the basics: config_drive (a real ISO 9660
config drive with Nova's metadata documents), networks, security_groups
and block device mappings (v2 and legacy), against the libvirt
test:///default driver. There is no network or volume service yet, so a
named network, port, security group, volume or snapshot gets Nova's answer
for one that does not exist, and a mapping that needs a new volume fails
the build as Nova's does when Cinder cannot serve it."""
import base64
import json
import os
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import http_session, nova

COMPUTE = "http://127.0.0.1:8774"


@pytest.fixture(scope="module")
def token(compute):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"},
            "password": compute.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def image_id(compute, osc):
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "64M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, "--public", "create-test-img", "-f", "json")
    return img["id"]


@pytest.fixture(scope="module")
def flavor(compute, osc):
    osc("flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1", "--id", "cr1",
        "cr.tiny")
    osc("flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1", "--ephemeral", "1",
        "--swap", "16", "--id", "cr2", "cr.local")
    yield "cr1"
    osc("flavor", "delete", "cr1", "cr2", check=False)


@pytest.fixture(scope="module")
def keypair(compute, osc):
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "k")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        osc("keypair", "create", "--public-key", key + ".pub", "cr-key")
        with open(key + ".pub") as f:
            pub = f.read()
    yield "cr-key", pub
    osc("keypair", "delete", "cr-key", check=False)


def create(token, image_id, flavor, **extra):
    server = {"name": extra.pop("name", "cr-vm"), "flavorRef": flavor}
    if image_id:
        server["imageRef"] = image_id
    server.update(extra)
    return nova(token, "POST", "/v2.1/servers", json={"server": server})


def wait_server(token, sid, want, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = nova(token, "GET", "/v2.1/servers/%s" % sid)
        if want == "DELETED" and r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        s = r.json()["server"]
        if s["status"] == want:
            return s
        if s["status"] == "ERROR" and want not in ("ERROR", "DELETED"):
            pytest.fail("server went to ERROR: %s" % s.get("fault"))
        time.sleep(0.3)
    pytest.fail("server %s never reached %s" % (sid, want))


def delete_server(token, sid):
    r = nova(token, "DELETE", "/v2.1/servers/%s" % sid)
    assert r.status_code == 204, r.text
    wait_server(token, sid, "DELETED")


def instance_dir(stack, sid):
    return os.path.join(stack.state_dir, "instances", sid)


def iso_read(iso, path):
    p = subprocess.run(["isoinfo", "-R", "-i", iso, "-x", path], capture_output=True,
                       check=True)
    return p.stdout


def iso_files(iso):
    p = subprocess.run(["isoinfo", "-R", "-f", "-i", iso], capture_output=True, text=True,
                       check=True)
    return set(p.stdout.split())


def assert_400(r, text):
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"] == text, r.text


# ---- config drive ----

def test_config_drive_built_with_metadata(compute, token, image_id, flavor, keypair):
    user_data = b"#!/bin/sh\necho hello from user data\n"
    r = create(token, image_id, flavor, name="cd vm", config_drive=True, key_name=keypair[0],
               user_data=base64.b64encode(user_data).decode(), metadata={"role": "web"})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    s = wait_server(token, sid, "ACTIVE")
    assert s["config_drive"] == "True"
    iso = os.path.join(instance_dir(compute, sid), "disk.config")
    assert os.path.exists(iso)
    desc = subprocess.run(["isoinfo", "-d", "-i", iso], capture_output=True, text=True,
                          check=True).stdout
    assert "Volume id: config-2" in desc
    files = iso_files(iso)
    for version in ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                    "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest"):
        assert "/openstack/%s/meta_data.json" % version in files
        assert "/openstack/%s/user_data" % version in files
    assert "/openstack/2012-08-10/vendor_data.json" not in files
    assert "/openstack/2013-10-17/vendor_data.json" in files
    assert "/openstack/2013-10-17/network_data.json" not in files
    assert "/openstack/2015-10-15/network_data.json" in files
    assert "/openstack/2016-10-06/vendor_data2.json" in files
    assert "/ec2/latest/meta-data.json" in files and "/ec2/2009-04-04/user-data" in files

    md = json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))
    assert md["uuid"] == sid
    assert md["name"] == "cd vm"
    assert md["hostname"] == "cd-vm.novalocal"
    assert md["launch_index"] == 0
    assert md["availability_zone"] == "nova"
    assert md["meta"] == {"role": "web"}
    assert md["public_keys"] == {keypair[0]: keypair[1]}
    assert md["keys"] == [{"name": keypair[0], "type": "ssh", "data": keypair[1]}]
    assert md["project_id"] == s["tenant_id"]
    assert md["devices"] == [] and len(base64.b64decode(md["random_seed"])) == 512
    old = json.loads(iso_read(iso, "/openstack/2012-08-10/meta_data.json"))
    assert "random_seed" not in old and "project_id" not in old and old["uuid"] == sid
    assert iso_read(iso, "/openstack/latest/user_data") == user_data
    assert iso_read(iso, "/ec2/latest/user-data") == user_data
    assert json.loads(iso_read(iso, "/openstack/latest/network_data.json")) == {}
    assert json.loads(iso_read(iso, "/openstack/latest/vendor_data.json")) == {}
    assert json.loads(iso_read(iso, "/openstack/latest/vendor_data2.json")) == {"static": {}}
    ec2 = json.loads(iso_read(iso, "/ec2/latest/meta-data.json"))
    assert ec2["hostname"] == "cd-vm.novalocal" and ec2["security-groups"] == ["default"]
    assert ec2["public-keys"] == {"0": {"openssh-key": keypair[1]}}
    assert ec2["placement"] == {"availability-zone": "nova"}
    assert ec2["instance-id"].startswith("i-")

    delete_server(token, sid)
    assert not os.path.exists(iso)


def test_config_drive_from_cli_and_off(compute, osc, token, image_id, flavor):
    s = osc("server", "create", "--flavor", flavor, "--image", image_id, "--use-config-drive",
            "--wait", "cd-cli", "-f", "json", timeout=120)
    assert s["config_drive"] == "True"
    assert os.path.exists(os.path.join(instance_dir(compute, s["id"]), "disk.config"))
    r = create(token, image_id, flavor, name="cd-off", config_drive="false")
    assert r.status_code == 202, r.text
    off = wait_server(token, r.json()["server"]["id"], "ACTIVE")
    assert off["config_drive"] == ""
    assert not os.path.exists(os.path.join(instance_dir(compute, off["id"]), "disk.config"))
    delete_server(token, off["id"])
    osc("server", "delete", "--wait", s["id"], timeout=120)


def test_config_drive_rewritten_on_rebuild(compute, token, image_id, flavor):
    r = create(token, image_id, flavor, name="cd-rebuild", config_drive=True,
               metadata={"v": "1"})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_server(token, sid, "ACTIVE")
    iso = os.path.join(instance_dir(compute, sid), "disk.config")
    assert json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))["meta"] == {"v": "1"}
    r = nova(token, "PUT", "/v2.1/servers/%s/metadata" % sid, json={"metadata": {"v": "2"}})
    assert r.status_code == 200, r.text
    # Metadata set later reaches the drive only when the server is respawned.
    assert json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))["meta"] == {"v": "1"}
    r = nova(token, "POST", "/v2.1/servers/%s/action" % sid,
             json={"rebuild": {"imageRef": image_id}})
    assert r.status_code == 202, r.text
    deadline = time.time() + 60
    while time.time() < deadline:
        s = wait_server(token, sid, "ACTIVE")
        if s["OS-EXT-STS:task_state"] is None:
            break
        time.sleep(0.3)
    assert json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))["meta"] == {"v": "2"}
    delete_server(token, sid)


def test_config_drive_bad_value(compute, token, image_id, flavor):
    r = create(token, image_id, flavor, config_drive="maybe")
    assert r.status_code == 400
    msg = r.json()["badRequest"]["message"]
    assert msg.startswith("Invalid input for field/attribute config_drive. Value: maybe. "
                          "'maybe' is not one of [True, 'True'")


# ---- networks ----

def test_networks_absent_or_empty_boot_without_nic(compute, token, image_id, flavor):
    r = create(token, image_id, flavor, name="net-empty", networks=[])
    assert r.status_code == 202, r.text
    s = wait_server(token, r.json()["server"]["id"], "ACTIVE")
    assert s["addresses"] == {}
    delete_server(token, s["id"])


def test_networks_not_found(compute, token, image_id, flavor):
    net, port = str(uuid.uuid4()), str(uuid.uuid4())
    assert_400(create(token, image_id, flavor, networks=[{"uuid": net}]),
               "Network %s could not be found." % net)
    assert_400(create(token, image_id, flavor, networks=[{"port": port}]),
               "Port id %s could not be found." % port)
    # Nova looks at the ports before the networks.
    assert_400(create(token, image_id, flavor, networks=[{"uuid": net}, {"port": port}]),
               "Port id %s could not be found." % port)


def test_networks_bad_format(compute, token, image_id, flavor):
    port = str(uuid.uuid4())
    assert_400(create(token, image_id, flavor, networks=[{"port": port, "fixed_ip": "10.0.0.5"}]),
               "Specified Fixed IP '10.0.0.5' cannot be used with port '%s': the two cannot "
               "be specified together." % port)
    assert_400(create(token, image_id, flavor, networks=[{"port": port}, {"port": port}]),
               "Port ID '%s' was specified twice: you cannot attach a port multiple times."
               % port)
    assert_400(create(token, image_id, flavor, networks=[{"fixed_ip": "10.0.0.5"}]),
               "Bad network format: missing 'uuid'")
    assert_400(create(token, image_id, flavor, networks=[{"uuid": "not-a-uuid"}]),
               "Bad networks format: network uuid is not in proper format (not-a-uuid)")
    # At 2.1 the strings of 2.37 and the tags of 2.32/2.42 are not allowed.
    assert_400(create(token, image_id, flavor, networks="auto"),
               "Invalid input for field/attribute networks. Value: auto. 'auto' is not of "
               "type 'array'")
    r = create(token, image_id, flavor, networks=[{"uuid": str(uuid.uuid4()), "tag": "a"}])
    assert r.status_code == 400
    assert "Additional properties are not allowed ('tag' was unexpected)" in r.text
    r = create(token, image_id, flavor, networks=[{"uuid": str(uuid.uuid4()),
                                                  "fixed_ip": "300.1.1.1"}])
    assert_400(r, "Invalid input for field/attribute fixed_ip. Value: 300.1.1.1. '300.1.1.1' "
                  "is not valid under any of the given schemas")
    r = create(token, image_id, flavor, networks=[{"port": "nope"}])
    assert_400(r, "Invalid input for field/attribute port. Value: nope. 'nope' is not valid "
                  "under any of the given schemas")


def test_networks_required_from_2_37(compute, token, image_id, flavor):
    # From 2.37 a server names its networks, or says "none" or "auto".
    v237 = {"OpenStack-API-Version": "compute 2.37"}
    r = nova(token, "POST", "/v2.1/servers", headers=v237,
             json={"server": {"name": "x", "flavorRef": flavor, "imageRef": image_id}})
    assert r.status_code == 400 and "'networks' is a required property" in r.text, r.text
    r = nova(token, "POST", "/v2.1/servers", headers=v237,
             json={"server": {"name": "n237", "flavorRef": flavor, "imageRef": image_id,
                              "networks": "none"}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    s = wait_server(token, sid, "ACTIVE")
    assert s["addresses"] == {}
    delete_server(token, sid)


# ---- security groups ----

def test_security_groups_default_stored_and_shown(compute, token, image_id, flavor):
    r = create(token, image_id, flavor, name="sg-default",
               security_groups=[{"name": "default"}, {"name": "default"}])
    assert r.status_code == 202, r.text
    # The create answer echoes the request's groups as given.
    assert r.json()["server"]["security_groups"] == [{"name": "default"}, {"name": "default"}]
    sid = r.json()["server"]["id"]
    s = wait_server(token, sid, "ACTIVE")
    assert s["security_groups"] == [{"name": "default"}]
    listed = nova(token, "GET", "/v2.1/servers/detail").json()["servers"]
    assert [x["security_groups"] for x in listed if x["id"] == sid] == [[{"name": "default"}]]
    delete_server(token, sid)


def test_security_groups_unknown_and_bad(compute, token, image_id, flavor):
    assert_400(create(token, image_id, flavor, security_groups=[{"name": "web"}]),
               "Unable to find security_group with name or id 'web'")
    assert_400(create(token, image_id, flavor, security_groups=[{"name": "default"},
                                                                {"name": "db"}]),
               "Unable to find security_group with name or id 'db'")
    assert_400(create(token, image_id, flavor, security_groups={"name": "default"}),
               "Invalid input for field/attribute security_groups. Value: "
               "{'name': 'default'}. {'name': 'default'} is not of type 'array'")
    r = create(token, image_id, flavor, security_groups=[{"id": "x"}])
    assert r.status_code == 400
    assert "Additional properties are not allowed ('id' was unexpected)" in r.text
    assert_400(create(token, image_id, flavor, security_groups=[{"name": ""}]),
               "Invalid input for field/attribute name. Value: . '' is too short")
    assert_400(create(token, image_id, flavor, security_groups=[{"name": " web"}]),
               "An invalid 'name' value was provided. The name must be: printable "
               "characters. Can not start or end with whitespace.")


# ---- block device mappings ----

def test_bdm_image_local_boot(compute, osc, token, image_id, flavor):
    # The CLI sends the image->local boot_index 0 mapping itself when given
    # --image with block devices; here with its --swap and --ephemeral.
    s = osc("server", "create", "--flavor", "cr2", "--image", image_id, "--swap", "4",
            "--ephemeral", "size=1", "--wait", "bdm-cli", "-f", "json", timeout=120)
    assert s["status"] == "ACTIVE"
    d = instance_dir(compute, s["id"])
    assert os.path.getsize(os.path.join(d, "disk.swap")) == 4 << 20
    assert os.path.getsize(os.path.join(d, "disk.local")) == 1 << 30
    osc("server", "delete", "--wait", s["id"], timeout=120)
    # A second boot_index 0 entry breaks the boot sequence, as in Nova.
    p = osc("server", "create", "--flavor", flavor, "--image", image_id, "--block-device",
            "source_type=image,uuid=%s,destination_type=local,boot_index=0" % image_id,
            "bdm-dup", check=False)
    assert p.returncode != 0 and "Boot sequence for the instance" in p.stderr
    # The same over HTTP, with a blank ephemeral and a swap disk of the flavor.
    r = create(token, image_id, "cr2", name="bdm-local", block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": "0"},
        {"source_type": "blank", "destination_type": "local", "boot_index": -1,
         "guest_format": "swap", "volume_size": 8}])
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_server(token, sid, "ACTIVE")
    d = instance_dir(compute, sid)
    # The flavor's 1 GiB ephemeral disk (ext4), the requested 8 MiB swap.
    assert os.path.getsize(os.path.join(d, "disk.local")) == 1 << 30
    assert os.path.getsize(os.path.join(d, "disk.swap")) == 8 << 20
    blkid = subprocess.run(["blkid", "-p", "-o", "export", os.path.join(d, "disk.local")],
                           capture_output=True, text=True).stdout
    assert "TYPE=ext4" in blkid and "LABEL=ephemeral0" in blkid
    blkid = subprocess.run(["blkid", "-p", "-o", "export", os.path.join(d, "disk.swap")],
                           capture_output=True, text=True).stdout
    assert "TYPE=swap" in blkid
    delete_server(token, sid)
    assert not os.path.exists(d)


def test_bdm_volume_and_snapshot_not_found(compute, token, image_id, flavor):
    vol, snap = str(uuid.uuid4()), str(uuid.uuid4())
    assert_400(create(token, None, flavor, block_device_mapping_v2=[
        {"source_type": "volume", "uuid": vol, "destination_type": "volume",
         "boot_index": 0}]),
        "Volume %s could not be found." % vol)
    assert_400(create(token, image_id, flavor, block_device_mapping=[
        {"volume_id": vol, "device_name": "vdb"}]),
        "Volume %s could not be found." % vol)
    assert_400(create(token, None, flavor, block_device_mapping_v2=[
        {"source_type": "snapshot", "uuid": snap, "destination_type": "volume",
         "boot_index": 0}]),
        "Block Device Mapping is Invalid: failed to get snapshot %s." % snap)


def test_bdm_image_to_volume_fails_the_build(compute, token, image_id, flavor):
    assert_400(create(token, None, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "volume",
         "boot_index": 0}]),
        "Images with destination_type 'volume' need to have a non-zero size specified")
    r = create(token, None, flavor, name="bfv", block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "volume",
         "boot_index": 0, "volume_size": 1}])
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    s = wait_server(token, sid, "ERROR")
    assert s["fault"]["message"] == ("Build of instance %s aborted: Failure prepping block "
                                     "device." % sid)
    delete_server(token, sid)


def test_bdm_bad_requests(compute, token, image_id, flavor):
    assert_400(create(token, None, flavor), "Missing imageRef attribute")
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": 1}]),
        "Block Device Mapping is Invalid: Mapping image to local is not supported.")
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "blank", "destination_type": "local", "boot_index": -1,
         "volume_size": 1}]),
        "Block Device Mapping is Invalid: Boot sequence for the instance and image/block "
        "device mapping combination is not valid.")
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "boot_index": 0}]),
        "Block Device Mapping is Invalid: Missing device UUID.")
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "blank", "uuid": image_id, "destination_type": "local"}]),
        "Block Device Mapping is Invalid: Invalid device UUID.")
    v = str(uuid.uuid4())
    assert_400(create(token, image_id, flavor,
                      block_device_mapping=[{"volume_id": v, "device_name": "vdb"}],
                      block_device_mapping_v2=[{"source_type": "volume", "uuid": v,
                                                "destination_type": "volume"}]),
               "Using different block_device_mapping syntaxes is not allowed in the same "
               "request.")
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "disk", "uuid": v}]),
        "Invalid input for field/attribute source_type. Value: disk. 'disk' is not one of "
        "['volume', 'image', 'snapshot', 'blank']")
    r = create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": 0, "tag": "root"}])
    assert r.status_code == 400
    assert "Additional properties are not allowed ('tag' was unexpected)" in r.text
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": "first"}]),
        "Invalid input for field/attribute boot_index. Value: first. 'first' does not match "
        "'^-?[0-9]+$'")
    # The flavor has no ephemeral disk to give.
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": 0},
        {"source_type": "blank", "destination_type": "local", "boot_index": -1,
         "volume_size": 1}]),
        "Ephemeral disks requested are larger than the instance type allows. If no size is "
        "given in one block device mapping, flavor ephemeral size will be used.")
    assert_400(create(token, image_id, "cr2", block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": 0},
        {"source_type": "blank", "destination_type": "local", "guest_format": "swap"},
        {"source_type": "blank", "destination_type": "local", "guest_format": "swap"}]),
        "Block Device Mapping is Invalid: More than one swap drive requested.")
    other = str(uuid.uuid4())
    assert_400(create(token, image_id, flavor, block_device_mapping_v2=[
        {"source_type": "image", "uuid": image_id, "destination_type": "local",
         "boot_index": 0},
        {"source_type": "image", "uuid": other, "destination_type": "volume",
         "volume_size": 1, "boot_index": 1}]),
        "Block Device Mapping is Invalid: failed to get image %s." % other)


# ---- force_config_drive (restarts the daemon: keep last) ----

def test_force_config_drive(compute, token, image_id, flavor):
    compute.write_config(overrides={"libvirt": {"uri": "test:///default",
                                                "virt_type": "qemu"},
                                    "compute": {"force_config_drive": "true"}})
    compute.restart_daemon()
    try:
        r = create(token, image_id, flavor, name="forced")
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        s = wait_server(token, sid, "ACTIVE")
        assert s["config_drive"] == "True"
        iso = os.path.join(instance_dir(compute, sid), "disk.config")
        md = json.loads(iso_read(iso, "/openstack/latest/meta_data.json"))
        assert md["uuid"] == sid
        delete_server(token, sid)
    finally:
        compute.write_config(overrides={"libvirt": {"uri": "test:///default",
                                                    "virt_type": "qemu"}})
        compute.restart_daemon()
