"""Compute microversions 2.2-2.92 outside the servers API: flavors,
keypairs, server groups, hypervisors, services, quotas/limits, simple
tenant usage, aggregates and the version documents, through raw HTTP with
the OpenStack-API-Version header (and the openstack CLI where natural).
Every test makes its own resources and checks 2.1 still answers as before."""
import subprocess
import tempfile
import os
import uuid

import pytest

from conftest import http_session, nova

COMPUTE = "http://127.0.0.1:8774"
IDENTITY = "http://127.0.0.1:5000"


def _token(user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = http_session().post(IDENTITY + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    tok = r.json()["token"]
    return r.headers["X-Subject-Token"], tok["user"]["id"], tok["project"]["id"]


@pytest.fixture(scope="module")
def member(compute, osc):
    """(token, user_id, project_id) of a member of its own project."""
    pw = "Mv-member-pass-1"
    osc("project", "create", "--domain", "default", "mv-misc", check=False)
    osc("user", "create", "--domain", "default", "--password", pw, "mv-misc-u", check=False)
    osc("role", "add", "--project", "mv-misc", "--user", "mv-misc-u", "member")
    return _token("mv-misc-u", pw, "mv-misc")


@pytest.fixture(scope="module")
def admin(compute, admin_token):
    body = http_session().get(IDENTITY + "/v3/auth/tokens", headers={
        "X-Auth-Token": admin_token, "X-Subject-Token": admin_token}, timeout=10).json()
    return admin_token, body["token"]["user"]["id"], body["token"]["project"]["id"]


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def bad_request(r):
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["badRequest"]["code"] == 400
    return r.json()["badRequest"]["message"]


# ---- version documents ----------------------------------------------------

def test_version_documents_report_max(compute, admin):
    tok = admin[0]
    v = {x["id"]: x for x in http_session().get(COMPUTE + "/", timeout=10).json()["versions"]}
    top = v["v2.1"]["version"]
    assert tuple(int(x) for x in top.split(".")) >= (2, 88)
    assert http_session().get(COMPUTE + "/v2.1", timeout=10).json()["version"]["version"] == top
    r = nova(tok, "GET", "/v2.1/flavors", mv="latest")
    assert r.headers["OpenStack-API-Version"] == "compute " + top


def test_method_of_a_later_microversion_is_404(compute, admin):
    tok = admin[0]
    r = nova(tok, "PUT", "/v2.1/flavors/1", mv="2.54",
             json={"flavor": {"description": "x"}})
    assert r.status_code == 404, r.text
    assert "itemNotFound" in r.json()


# ---- flavors ----------------------------------------------------------------

def test_flavor_description_and_swap(compute, admin):
    tok = admin[0]
    name, fid = uniq("mvf"), uniq("mvfid")
    body = {"flavor": {"name": name, "id": fid, "ram": 128, "vcpus": 1, "disk": 1,
                       "description": "small one"}}
    # description is an unknown property before 2.55
    assert "description" in bad_request(nova(tok, "POST", "/v2.1/flavors", mv="2.54",
                                             json=body))
    r = nova(tok, "POST", "/v2.1/flavors", mv="2.55", json=body)
    assert r.status_code == 200, r.text
    f = r.json()["flavor"]
    assert f["description"] == "small one" and f["swap"] == ""
    assert "extra_specs" not in f
    # 2.1 shows neither description nor the 2.75 swap
    f21 = nova(tok, "GET", "/v2.1/flavors/" + fid).json()["flavor"]
    assert "description" not in f21 and f21["swap"] == ""
    f75 = nova(tok, "GET", "/v2.1/flavors/" + fid, mv="2.75").json()["flavor"]
    assert f75["swap"] == 0 and f75["description"] == "small one"
    # the index at 2.55 carries the description, at 2.54 not
    idx = nova(tok, "GET", "/v2.1/flavors", mv="2.55").json()["flavors"]
    assert [x for x in idx if x["id"] == fid][0]["description"] == "small one"
    idx = nova(tok, "GET", "/v2.1/flavors", mv="2.54").json()["flavors"]
    assert "description" not in [x for x in idx if x["id"] == fid][0]
    # PUT updates only the description
    r = nova(tok, "PUT", "/v2.1/flavors/" + fid, mv="2.55",
             json={"flavor": {"description": "renamed"}})
    assert r.status_code == 200 and r.json()["flavor"]["description"] == "renamed"
    assert nova(tok, "GET", "/v2.1/flavors/" + fid, mv="2.55").json()[
        "flavor"]["description"] == "renamed"
    bad_request(nova(tok, "PUT", "/v2.1/flavors/" + fid, mv="2.55",
                     json={"flavor": {"name": "other"}}))
    bad_request(nova(tok, "PUT", "/v2.1/flavors/" + fid, mv="2.55", json={"flavor": {}}))
    bad_request(nova(tok, "PUT", "/v2.1/flavors/" + fid, mv="2.55",
                     json={"flavor": {"description": "bad\x01char"}}))
    r = nova(tok, "PUT", "/v2.1/flavors/" + fid, mv="2.55",
             json={"flavor": {"description": None}})
    assert r.status_code == 200 and r.json()["flavor"]["description"] is None
    r = nova(tok, "PUT", "/v2.1/flavors/nope-" + fid, mv="2.55",
             json={"flavor": {"description": "x"}})
    assert r.status_code == 404
    assert nova(tok, "DELETE", "/v2.1/flavors/" + fid).status_code == 202


def test_flavor_update_is_admin_only(compute, member):
    r = nova(member[0], "PUT", "/v2.1/flavors/1", mv="2.55",
             json={"flavor": {"description": "x"}})
    assert r.status_code == 403


def test_flavor_extra_specs_embedded(compute, admin, member):
    tok = admin[0]
    fid = uniq("mvspec")
    r = nova(tok, "POST", "/v2.1/flavors", mv="2.61", json={"flavor": {
        "name": fid, "id": fid, "ram": 128, "vcpus": 1, "disk": 1}})
    assert r.status_code == 200 and r.json()["flavor"]["extra_specs"] == {}
    assert nova(tok, "POST", "/v2.1/flavors/%s/os-extra_specs" % fid,
                json={"extra_specs": {"hw:cpu_policy": "shared"}}).status_code == 200
    show = nova(tok, "GET", "/v2.1/flavors/" + fid, mv="2.61").json()["flavor"]
    assert show["extra_specs"] == {"hw:cpu_policy": "shared"}
    assert "extra_specs" not in nova(tok, "GET", "/v2.1/flavors/" + fid, mv="2.60").json()[
        "flavor"]
    det = nova(member[0], "GET", "/v2.1/flavors/detail", mv="2.61").json()["flavors"]
    assert [x for x in det if x["id"] == fid][0]["extra_specs"] == {"hw:cpu_policy": "shared"}
    # the index view has no extra specs
    assert "extra_specs" not in nova(tok, "GET", "/v2.1/flavors", mv="2.61").json()[
        "flavors"][0]
    nova(tok, "DELETE", "/v2.1/flavors/" + fid)


def test_flavor_access_to_public_flavor(compute, admin):
    tok = admin[0]
    fid = uniq("mvpub")
    assert nova(tok, "POST", "/v2.1/flavors", json={"flavor": {
        "name": fid, "id": fid, "ram": 128, "vcpus": 1, "disk": 1}}).status_code == 200
    act = {"addTenantAccess": {"tenant": admin[2]}}
    r = nova(tok, "POST", "/v2.1/flavors/%s/action" % fid, mv="2.7", json=act)
    assert r.status_code == 409, r.text
    assert r.json()["conflictingRequest"]["message"] == "Can not add access to a public flavor."
    # before 2.7 Nova accepts it
    r = nova(tok, "POST", "/v2.1/flavors/%s/action" % fid, mv="2.6", json=act)
    assert r.status_code == 200, r.text
    assert r.json()["flavor_access"] == [{"flavor_id": fid, "tenant_id": admin[2]}]
    nova(tok, "DELETE", "/v2.1/flavors/" + fid)


def test_flavor_list_strict_query_from_2_75(compute, admin):
    tok = admin[0]
    assert nova(tok, "GET", "/v2.1/flavors?foo=1", mv="2.74").status_code == 200
    msg = bad_request(nova(tok, "GET", "/v2.1/flavors/detail?foo=1", mv="2.75"))
    assert "foo" in msg
    assert nova(tok, "GET", "/v2.1/flavors?minRam=1&limit=2&sort_key=name",
                mv="2.75").status_code == 200


def test_flavor_cli_description(compute, osc):
    fid = uniq("mvcli")
    f = osc("--os-compute-api-version", "2.55", "flavor", "create", "--ram", "128",
            "--vcpus", "1", "--disk", "1", "--id", fid, "--description", "from cli", fid,
            "-f", "json")
    assert f["description"] == "from cli"
    osc("--os-compute-api-version", "2.55", "flavor", "set", "--description", "changed", fid)
    f = osc("--os-compute-api-version", "2.55", "flavor", "show", fid, "-f", "json")
    assert f["description"] == "changed"
    osc("flavor", "delete", fid)


# ---- keypairs -----------------------------------------------------------------

def _pubkey():
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "k")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        return open(key + ".pub").read().strip()


def test_keypair_type_and_statuses(compute, member):
    tok, user, _ = member
    name = uniq("kp")
    # 2.1: 200 on create, no type, 202 on delete
    r = nova(tok, "POST", "/v2.1/os-keypairs", json={"keypair": {"name": name}})
    assert r.status_code == 200 and "type" not in r.json()["keypair"]
    assert r.json()["keypair"]["user_id"] == user
    bad_request(nova(tok, "POST", "/v2.1/os-keypairs",
                     json={"keypair": {"name": uniq("kp"), "type": "ssh"}}))
    assert "type" not in nova(tok, "GET", "/v2.1/os-keypairs/" + name).json()["keypair"]
    assert nova(tok, "DELETE", "/v2.1/os-keypairs/" + name).status_code == 202
    # 2.2: 201, type shown everywhere, 204 on delete
    r = nova(tok, "POST", "/v2.1/os-keypairs", mv="2.2",
             json={"keypair": {"name": name, "type": "ssh", "public_key": _pubkey()}})
    assert r.status_code == 201, r.text
    assert r.json()["keypair"]["type"] == "ssh"
    assert nova(tok, "GET", "/v2.1/os-keypairs/" + name, mv="2.2").json()[
        "keypair"]["type"] == "ssh"
    lst = nova(tok, "GET", "/v2.1/os-keypairs", mv="2.2").json()["keypairs"]
    assert [k["keypair"]["type"] for k in lst if k["keypair"]["name"] == name] == ["ssh"]
    msg = bad_request(nova(tok, "POST", "/v2.1/os-keypairs", mv="2.2",
                           json={"keypair": {"name": uniq("kp"), "type": "rsa"}}))
    assert "'rsa' is not one of ['ssh', 'x509']" in msg
    assert nova(tok, "DELETE", "/v2.1/os-keypairs/" + name, mv="2.2").status_code == 204


def test_keypair_x509(compute, member):
    tok = member[0]
    name = uniq("x509")
    r = nova(tok, "POST", "/v2.1/os-keypairs", mv="2.2",
             json={"keypair": {"name": name, "type": "x509"}})
    assert r.status_code == 201, r.text
    kp = r.json()["keypair"]
    assert kp["type"] == "x509" and kp["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert kp["private_key"]                # base64 PKCS#12
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "c.pem")
        open(pem, "w").write(kp["public_key"])
        out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint",
                              "-sha1", "-subject"], capture_output=True, text=True,
                             check=True).stdout
        fp = out.split("=", 1)[1].split()[0].lower()
        assert kp["fingerprint"] == fp
        assert member[1] in out
        p12 = os.path.join(d, "k.p12")
        import base64
        open(p12, "wb").write(base64.b64decode(kp["private_key"]))
        subprocess.run(["openssl", "pkcs12", "-in", p12, "-passin", "pass:", "-nodes",
                        "-noout"], check=True, capture_output=True)
    # import the same certificate under another name
    name2 = uniq("x509")
    r = nova(tok, "POST", "/v2.1/os-keypairs", mv="2.2", json={"keypair": {
        "name": name2, "type": "x509", "public_key": kp["public_key"]}})
    assert r.status_code == 201 and r.json()["keypair"]["fingerprint"] == kp["fingerprint"]
    assert "private_key" not in r.json()["keypair"]
    bad_request(nova(tok, "POST", "/v2.1/os-keypairs", mv="2.2", json={"keypair": {
        "name": uniq("x509"), "type": "x509", "public_key": _pubkey()}}))
    for n in (name, name2):
        assert nova(tok, "DELETE", "/v2.1/os-keypairs/" + n, mv="2.2").status_code == 204


def test_keypair_user_id_for_admin(compute, admin, member):
    atok = admin[0]
    mtok, muser, _ = member
    name = uniq("kpu")
    body = {"keypair": {"name": name, "user_id": muser, "public_key": _pubkey()}}
    bad_request(nova(atok, "POST", "/v2.1/os-keypairs", mv="2.9", json=body))
    r = nova(atok, "POST", "/v2.1/os-keypairs", mv="2.10", json=body)
    assert r.status_code == 201 and r.json()["keypair"]["user_id"] == muser
    # the member sees it as its own; the admin reaches it with ?user_id=
    assert nova(mtok, "GET", "/v2.1/os-keypairs/" + name, mv="2.10").status_code == 200
    assert nova(atok, "GET", "/v2.1/os-keypairs/" + name, mv="2.10").status_code == 404
    r = nova(atok, "GET", "/v2.1/os-keypairs/%s?user_id=%s" % (name, muser), mv="2.10")
    assert r.status_code == 200 and r.json()["keypair"]["user_id"] == muser
    # before 2.10 the query is ignored
    assert nova(atok, "GET", "/v2.1/os-keypairs/%s?user_id=%s" % (name, muser),
                mv="2.9").status_code == 404
    names = [k["keypair"]["name"] for k in nova(
        atok, "GET", "/v2.1/os-keypairs?user_id=" + muser, mv="2.10").json()["keypairs"]]
    assert name in names
    # a member cannot act for someone else
    r = nova(mtok, "GET", "/v2.1/os-keypairs?user_id=" + admin[1], mv="2.10")
    assert r.status_code == 403
    r = nova(mtok, "POST", "/v2.1/os-keypairs", mv="2.10", json={"keypair": {
        "name": uniq("kpu"), "user_id": admin[1]}})
    assert r.status_code == 403
    assert nova(atok, "DELETE", "/v2.1/os-keypairs/%s?user_id=%s" % (name, muser),
                mv="2.10").status_code == 204
    assert nova(mtok, "GET", "/v2.1/os-keypairs/" + name, mv="2.10").status_code == 404


def test_keypair_pagination(compute, osc):
    pw = "Mv-kp-pass-1"
    osc("project", "create", "--domain", "default", "mv-kp", check=False)
    osc("user", "create", "--domain", "default", "--password", pw, "mv-kp-u", check=False)
    osc("role", "add", "--project", "mv-kp", "--user", "mv-kp-u", "member")
    tok = _token("mv-kp-u", pw, "mv-kp")[0]
    for k in nova(tok, "GET", "/v2.1/os-keypairs").json()["keypairs"]:
        nova(tok, "DELETE", "/v2.1/os-keypairs/" + k["keypair"]["name"])
    pub = _pubkey()
    names = ["pg-%d" % i for i in range(5)]
    for n in names:
        assert nova(tok, "POST", "/v2.1/os-keypairs", mv="2.35", json={"keypair": {
            "name": n, "public_key": pub}}).status_code == 201
    r = nova(tok, "GET", "/v2.1/os-keypairs?limit=2", mv="2.35").json()
    assert [k["keypair"]["name"] for k in r["keypairs"]] == names[:2]
    nxt = r["keypairs_links"][0]
    assert nxt["rel"] == "next" and "marker=pg-1" in nxt["href"] and "limit=2" in nxt["href"]
    r = nova(tok, "GET", "/v2.1/os-keypairs?limit=2&marker=pg-1", mv="2.35").json()
    assert [k["keypair"]["name"] for k in r["keypairs"]] == names[2:4]
    r = nova(tok, "GET", "/v2.1/os-keypairs?marker=pg-3", mv="2.35").json()
    assert [k["keypair"]["name"] for k in r["keypairs"]] == names[4:]
    assert "keypairs_links" not in r
    bad_request(nova(tok, "GET", "/v2.1/os-keypairs?marker=nope", mv="2.35"))
    bad_request(nova(tok, "GET", "/v2.1/os-keypairs?limit=-1", mv="2.35"))
    # before 2.35 limit is ignored
    r = nova(tok, "GET", "/v2.1/os-keypairs?limit=2", mv="2.34").json()
    assert len(r["keypairs"]) == 5 and "keypairs_links" not in r
    # 2.75 rejects unknown query parameters
    assert nova(tok, "GET", "/v2.1/os-keypairs?foo=1", mv="2.74").status_code == 200
    bad_request(nova(tok, "GET", "/v2.1/os-keypairs?foo=1", mv="2.75"))
    bad_request(nova(tok, "GET", "/v2.1/os-keypairs/pg-0?foo=1", mv="2.75"))
    # the CLI lists them at 2.35 (following the links)
    out = osc("--os-compute-api-version", "2.35", "keypair", "list", "-f", "json",
              env=compute.env(user="mv-kp-u", password=pw, project="mv-kp"))
    assert sorted(x["Name"] for x in out) == names
    for n in names:
        nova(tok, "DELETE", "/v2.1/os-keypairs/" + n)


def test_keypair_import_only_from_2_92(compute, member):
    tok = member[0]
    name = uniq("k92") + "@x.y"
    msg = bad_request(nova(tok, "POST", "/v2.1/os-keypairs", mv="2.92",
                           json={"keypair": {"name": name}}))
    assert "'public_key' is a required property" in msg
    # '@' and '.' are accepted from 2.92 only
    bad_request(nova(tok, "POST", "/v2.1/os-keypairs", mv="2.91",
                     json={"keypair": {"name": name, "public_key": _pubkey()}}))
    r = nova(tok, "POST", "/v2.1/os-keypairs", mv="2.92",
             json={"keypair": {"name": name, "public_key": _pubkey()}})
    assert r.status_code == 201, r.text
    assert "private_key" not in r.json()["keypair"]
    # 2.91 still generates
    r = nova(tok, "POST", "/v2.1/os-keypairs", mv="2.91", json={"keypair": {"name": uniq("k91")}})
    assert r.status_code == 201 and "private_key" in r.json()["keypair"]
    nova(tok, "DELETE", "/v2.1/os-keypairs/" + r.json()["keypair"]["name"])
    nova(tok, "DELETE", "/v2.1/os-keypairs/" + name)


# ---- server groups ----------------------------------------------------------------

@pytest.fixture(scope="module")
def image_id(compute, osc):
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "64M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, "--public", uniq("mv-img"), "-f", "json")
    return img["id"]


def _wait_status(tok, sid, want, timeout=90):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = nova(tok, "GET", "/v2.1/servers/" + sid).json()["server"]
        if s["status"] in want:
            return s
        time.sleep(0.5)
    raise AssertionError("server %s never reached %s (last %s)" % (sid, want, s["status"]))


def test_server_group_views(compute, member):
    tok, user, project = member
    r = nova(tok, "POST", "/v2.1/os-server-groups", mv="2.12",
             json={"server_group": {"name": uniq("g"), "policies": ["affinity"]}})
    assert r.status_code == 200, r.text
    g = r.json()["server_group"]
    assert g["policies"] == ["affinity"] and g["metadata"] == {} and "project_id" not in g
    g13 = nova(tok, "GET", "/v2.1/os-server-groups/" + g["id"], mv="2.13").json()[
        "server_group"]
    assert g13["project_id"] == project and g13["user_id"] == user
    assert g13["policies"] == ["affinity"]
    g64 = nova(tok, "GET", "/v2.1/os-server-groups/" + g["id"], mv="2.64").json()[
        "server_group"]
    assert g64["policy"] == "affinity" and g64["rules"] == {}
    assert "policies" not in g64 and "metadata" not in g64 and g64["project_id"] == project
    lst = nova(tok, "GET", "/v2.1/os-server-groups", mv="2.64").json()["server_groups"]
    assert [x["policy"] for x in lst if x["id"] == g["id"]] == ["affinity"]
    # soft policies from 2.15
    bad_request(nova(tok, "POST", "/v2.1/os-server-groups", mv="2.14",
                     json={"server_group": {"name": "s", "policies": ["soft-affinity"]}}))
    r = nova(tok, "POST", "/v2.1/os-server-groups", mv="2.15",
             json={"server_group": {"name": uniq("s"), "policies": ["soft-anti-affinity"]}})
    assert r.status_code == 200 and r.json()["server_group"]["policies"] == [
        "soft-anti-affinity"]
    for gid in (g["id"], r.json()["server_group"]["id"]):
        assert nova(tok, "DELETE", "/v2.1/os-server-groups/" + gid).status_code == 204


def test_server_group_policy_and_rules(compute, member):
    tok = member[0]
    url = "/v2.1/os-server-groups"
    # 2.64 takes "policy", no longer "policies"
    bad_request(nova(tok, "POST", url, mv="2.64",
                     json={"server_group": {"name": "x", "policies": ["affinity"]}}))
    bad_request(nova(tok, "POST", url, mv="2.63",
                     json={"server_group": {"name": "x", "policy": "affinity"}}))
    bad_request(nova(tok, "POST", url, mv="2.64",
                     json={"server_group": {"name": "x", "policy": "spread"}}))
    msg = bad_request(nova(tok, "POST", url, mv="2.64", json={"server_group": {
        "name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}}))
    assert msg == "Only anti-affinity policy supports rules."
    for rules in ({"max_server_per_host": 0}, {"max_server_per_host": "a"}, {"other": 1},
                  "x"):
        bad_request(nova(tok, "POST", url, mv="2.64", json={"server_group": {
            "name": "x", "policy": "anti-affinity", "rules": rules}}))
    r = nova(tok, "POST", url, mv="2.64", json={"server_group": {
        "name": uniq("r"), "policy": "anti-affinity", "rules": {"max_server_per_host": 3}}})
    assert r.status_code == 200, r.text
    g = r.json()["server_group"]
    assert g["policy"] == "anti-affinity" and g["rules"] == {"max_server_per_host": 3}
    assert g["members"] == []
    g21 = nova(tok, "GET", url + "/" + g["id"]).json()["server_group"]
    assert g21["policies"] == ["anti-affinity"] and "rules" not in g21
    # 2.75: unknown query parameters
    assert nova(tok, "GET", url + "?foo=1", mv="2.74").status_code == 200
    bad_request(nova(tok, "GET", url + "?foo=1", mv="2.75"))
    assert nova(tok, "GET", url + "?limit=1&offset=0", mv="2.75").status_code == 200
    nova(tok, "DELETE", url + "/" + g["id"])


def test_server_group_max_server_per_host(compute, admin, image_id):
    tok = admin[0]
    r = nova(tok, "POST", "/v2.1/os-server-groups", mv="2.64", json={"server_group": {
        "name": uniq("mph"), "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}})
    gid = r.json()["server_group"]["id"]
    ids = []
    for i in range(3):
        r = nova(tok, "POST", "/v2.1/servers", json={
            "server": {"name": uniq("mph"), "flavorRef": "1", "imageRef": image_id},
            "os:scheduler_hints": {"group": gid}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
        # one at a time, so each is scheduled knowing the previous ones' host
        _wait_status(tok, ids[-1], ("ACTIVE", "ERROR"))
    st = [nova(tok, "GET", "/v2.1/servers/" + s).json()["server"]["status"] for s in ids]
    # the only host takes two members, the third finds no valid host
    assert st == ["ACTIVE", "ACTIVE", "ERROR"]
    for s in ids:
        nova(tok, "DELETE", "/v2.1/servers/" + s)
    nova(tok, "DELETE", "/v2.1/os-server-groups/" + gid)


def test_server_group_cli(compute, osc):
    g = osc("--os-compute-api-version", "2.64", "server", "group", "create", "--policy",
            "soft-affinity", uniq("cli"), "-f", "json")
    assert g["policy"] == "soft-affinity"
    osc("server", "group", "delete", g["id"])


# ---- quotas, quota classes, limits --------------------------------------------------

NETWORK_QUOTAS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}
INJECTED_QUOTAS = {"injected_files", "injected_file_content_bytes",
                   "injected_file_path_bytes"}


def test_quota_sets_by_microversion(compute, admin, member):
    tok = admin[0]
    project = member[2]
    url = "/v2.1/os-quota-sets/" + project
    q21 = nova(tok, "GET", url).json()["quota_set"]
    assert NETWORK_QUOTAS | INJECTED_QUOTAS <= set(q21)
    q36 = nova(tok, "GET", url, mv="2.36").json()["quota_set"]
    assert not NETWORK_QUOTAS & set(q36) and INJECTED_QUOTAS <= set(q36)
    assert q36["instances"] == q21["instances"] and q36["id"] == project
    q57 = nova(tok, "GET", url, mv="2.57").json()["quota_set"]
    assert not (NETWORK_QUOTAS | INJECTED_QUOTAS) & set(q57)
    assert {"instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
            "server_group_members"} <= set(q57)
    for suffix in ("/defaults", "/detail"):
        body = nova(tok, "GET", url + suffix, mv="2.57").json()["quota_set"]
        assert not (NETWORK_QUOTAS | INJECTED_QUOTAS) & set(body)
        assert INJECTED_QUOTAS <= set(nova(tok, "GET", url + suffix, mv="2.56").json()[
            "quota_set"])
    # update: the removed resources are unknown properties
    assert nova(tok, "PUT", url, json={"quota_set": {"floating_ips": 7}}).status_code == 200
    msg = bad_request(nova(tok, "PUT", url, mv="2.36", json={"quota_set": {"floating_ips": 7}}))
    assert "floating_ips" in msg
    assert bad_request(nova(tok, "PUT", url, json={"quota_set": {"networks": 1}})) == \
        "The networks quota has been removed"
    bad_request(nova(tok, "PUT", url, mv="2.36", json={"quota_set": {"networks": 1}}))
    r = nova(tok, "PUT", url, mv="2.56", json={"quota_set": {"injected_files": 4}})
    assert r.status_code == 200 and r.json()["quota_set"]["injected_files"] == 4
    assert "id" not in r.json()["quota_set"] and "floating_ips" not in r.json()["quota_set"]
    bad_request(nova(tok, "PUT", url, mv="2.57", json={"quota_set": {"injected_files": 4}}))
    r = nova(tok, "PUT", url, mv="2.57", json={"quota_set": {"cores": 33}})
    assert r.status_code == 200 and r.json()["quota_set"]["cores"] == 33
    assert "injected_files" not in r.json()["quota_set"]
    # 2.75: unknown query parameters
    assert nova(tok, "GET", url + "?foo=1", mv="2.74").status_code == 200
    bad_request(nova(tok, "GET", url + "?foo=1", mv="2.75"))
    assert nova(tok, "GET", url + "?user_id=x", mv="2.75").status_code == 200
    assert nova(tok, "DELETE", url).status_code == 202


def test_limits_by_microversion(compute, member):
    tok = member[0]
    a21 = nova(tok, "GET", "/v2.1/limits").json()["limits"]["absolute"]
    for k in ("maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules",
              "totalFloatingIpsUsed", "totalSecurityGroupsUsed", "maxImageMeta",
              "maxPersonality", "maxPersonalitySize", "maxServerMeta", "maxTotalCores"):
        assert k in a21, k
    a36 = nova(tok, "GET", "/v2.1/limits", mv="2.36").json()["limits"]["absolute"]
    for k in ("maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules",
              "totalFloatingIpsUsed", "totalSecurityGroupsUsed"):
        assert k not in a36, k
    assert "maxImageMeta" in a36 and "maxPersonality" in a36
    a39 = nova(tok, "GET", "/v2.1/limits", mv="2.39").json()["limits"]["absolute"]
    assert "maxImageMeta" not in a39 and "maxServerMeta" in a39
    a57 = nova(tok, "GET", "/v2.1/limits", mv="2.57").json()["limits"]["absolute"]
    assert "maxPersonality" not in a57 and "maxPersonalitySize" not in a57
    assert {"maxTotalRAMSize", "maxTotalInstances", "maxTotalCores", "maxTotalKeypairs",
            "maxServerMeta", "maxServerGroups", "maxServerGroupMembers", "totalRAMUsed",
            "totalCoresUsed", "totalInstancesUsed", "totalServerGroupsUsed"} == set(a57)
    assert nova(tok, "GET", "/v2.1/limits?foo=1", mv="2.74").status_code == 200
    bad_request(nova(tok, "GET", "/v2.1/limits?foo=1", mv="2.75"))


def test_quota_class_sets(compute, admin, member, osc):
    tok = admin[0]
    url = "/v2.1/os-quota-class-sets/default"
    c21 = nova(tok, "GET", url).json()["quota_class_set"]
    assert c21["id"] == "default"
    assert NETWORK_QUOTAS <= set(c21) and "server_groups" not in c21
    c50 = nova(tok, "GET", url, mv="2.50").json()["quota_class_set"]
    assert not NETWORK_QUOTAS & set(c50) and "server_group_members" in c50
    assert INJECTED_QUOTAS <= set(c50)
    c57 = nova(tok, "GET", url, mv="2.57").json()["quota_class_set"]
    assert not INJECTED_QUOTAS & set(c57)
    assert nova(member[0], "GET", url).status_code == 403
    # the default class changes a project's default limit
    old = c57["key_pairs"]
    r = nova(tok, "PUT", url, mv="2.57", json={"quota_class_set": {"key_pairs": old + 7}})
    assert r.status_code == 200, r.text
    assert r.json()["quota_class_set"]["key_pairs"] == old + 7
    assert "id" not in r.json()["quota_class_set"]
    assert nova(tok, "GET", "/v2.1/os-quota-sets/%s/defaults" % member[2]).json()[
        "quota_set"]["key_pairs"] == old + 7
    assert nova(member[0], "GET", "/v2.1/limits").json()["limits"]["absolute"][
        "maxTotalKeypairs"] == old + 7
    bad_request(nova(tok, "PUT", url, mv="2.50", json={"quota_class_set": {"floating_ips": 1}}))
    bad_request(nova(tok, "PUT", url, json={"quota_class_set": {"key_pairs": -2}}))
    bad_request(nova(tok, "PUT", url, json={"quota_class_set": {"force": True}}))
    # the CLI reads and writes them too
    out = osc("--os-compute-api-version", "2.57", "quota", "show", "--class", "default",
              "-f", "json")
    assert any(k in ("key-pairs", "key_pairs") and v == old + 7 for k, v in (
        out.items() if isinstance(out, dict) else ((x["Resource"], x["Limit"]) for x in out)))
    assert nova(tok, "PUT", url, json={"quota_class_set": {"key_pairs": old}}).status_code == 200


# ---- services -------------------------------------------------------------------------

def _compute_service(tok, mv):
    svcs = nova(tok, "GET", "/v2.1/os-services?binary=nova-compute", mv=mv).json()["services"]
    assert len(svcs) >= 1
    return svcs[0]


def test_services_views_and_force_down(compute, admin):
    tok = admin[0]
    s21 = _compute_service(tok, None)
    assert isinstance(s21["id"], int) and "forced_down" not in s21
    s11 = _compute_service(tok, "2.11")
    assert s11["forced_down"] is False and isinstance(s11["id"], int)
    s53 = _compute_service(tok, "2.53")
    assert uuid.UUID(s53["id"]) and s53["forced_down"] is False
    host = s21["host"]
    body = {"host": host, "binary": "nova-compute", "forced_down": True}
    # force-down is an action from 2.11 on, and gone (with the others) at 2.53
    assert nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.10",
                json=body).status_code == 404
    try:
        r = nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.11", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["service"] == {"host": host, "binary": "nova-compute",
                                       "forced_down": True}
        s = _compute_service(tok, "2.11")
        assert s["forced_down"] is True and s["state"] == "down"
    finally:
        r = nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.11",
                 json=dict(body, forced_down=False))
        assert r.status_code == 200
    assert _compute_service(tok, "2.11")["state"] == "up"
    msg = bad_request(nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.11",
                           json={"host": host, "binary": "nova-compute"}))
    assert msg == "Missing forced_down field"
    bad_request(nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.11",
                     json={"host": host, "binary": "nova-scheduler", "forced_down": True}))
    r = nova(tok, "PUT", "/v2.1/os-services/force-down", mv="2.11",
             json={"host": "nohost", "binary": "nova-compute", "forced_down": True})
    assert r.status_code == 404
    # enable / disable / disable-log-reason at 2.1
    try:
        r = nova(tok, "PUT", "/v2.1/os-services/disable-log-reason",
                 json={"host": host, "binary": "nova-compute", "disabled_reason": "maint"})
        assert r.status_code == 200 and r.json()["service"] == {
            "host": host, "binary": "nova-compute", "status": "disabled",
            "disabled_reason": "maint"}
        s = _compute_service(tok, None)
        assert s["status"] == "disabled" and s["disabled_reason"] == "maint"
        hyp = nova(tok, "GET", "/v2.1/os-hypervisors/detail").json()["hypervisors"][0]
        assert hyp["status"] == "disabled" and hyp["service"]["disabled_reason"] == "maint"
        bad_request(nova(tok, "PUT", "/v2.1/os-services/disable-log-reason",
                         json={"host": host, "binary": "nova-compute"}))
    finally:
        r = nova(tok, "PUT", "/v2.1/os-services/enable",
                 json={"host": host, "binary": "nova-compute"})
        assert r.status_code == 200 and r.json()["service"]["status"] == "enabled"
    assert nova(tok, "PUT", "/v2.1/os-services/reboot",
                json={"host": host, "binary": "nova-compute"}).status_code == 404
    assert nova(tok, "PUT", "/v2.1/os-services/enable", mv="2.53",
                json={"host": host, "binary": "nova-compute"}).status_code == 400
    # 2.75: unknown query parameters
    assert nova(tok, "GET", "/v2.1/os-services?foo=1", mv="2.74").status_code == 200
    bad_request(nova(tok, "GET", "/v2.1/os-services?foo=1", mv="2.75"))


def test_service_update_by_uuid(compute, admin, member):
    tok = admin[0]
    sid = _compute_service(tok, "2.53")["id"]
    url = "/v2.1/os-services/" + sid
    try:
        r = nova(tok, "PUT", url, mv="2.53",
                 json={"status": "disabled", "disabled_reason": "by uuid"})
        assert r.status_code == 200, r.text
        s = r.json()["service"]
        assert s["id"] == sid and s["status"] == "disabled"
        assert s["disabled_reason"] == "by uuid" and s["binary"] == "nova-compute"
        assert "forced_down" in s and "zone" in s and "state" in s
        r = nova(tok, "PUT", url, mv="2.53", json={"forced_down": True})
        assert r.status_code == 200 and r.json()["service"]["forced_down"] is True
        assert r.json()["service"]["state"] == "down"
        assert r.json()["service"]["status"] == "disabled"
    finally:
        r = nova(tok, "PUT", url, mv="2.53", json={"status": "enabled", "forced_down": False})
        assert r.status_code == 200
    s = r.json()["service"]
    assert s["status"] == "enabled" and s["disabled_reason"] is None and s["state"] == "up"
    assert bad_request(nova(tok, "PUT", url, mv="2.53", json={})).startswith("No updates")
    bad_request(nova(tok, "PUT", url, mv="2.53",
                     json={"status": "enabled", "disabled_reason": "x"}))
    bad_request(nova(tok, "PUT", url, mv="2.53", json={"status": "off"}))
    bad_request(nova(tok, "PUT", url, mv="2.53", json={"host": "x"}))
    assert bad_request(nova(tok, "PUT", "/v2.1/os-services/12", mv="2.53",
                            json={"status": "enabled"})) == "Invalid uuid 12"
    r = nova(tok, "PUT", "/v2.1/os-services/" + str(uuid.uuid4()), mv="2.53",
             json={"status": "enabled"})
    assert r.status_code == 404
    sched = nova(tok, "GET", "/v2.1/os-services?binary=nova-scheduler", mv="2.53").json()[
        "services"][0]
    bad_request(nova(tok, "PUT", "/v2.1/os-services/" + sched["id"], mv="2.53",
                     json={"status": "disabled"}))
    assert nova(member[0], "PUT", url, mv="2.53", json={"status": "disabled"}).status_code == 403


def test_service_delete(compute, admin):
    tok = admin[0]
    cond = nova(tok, "GET", "/v2.1/os-services?binary=nova-conductor").json()["services"][0]
    bad_request(nova(tok, "DELETE", "/v2.1/os-services/abc"))
    bad_request(nova(tok, "DELETE", "/v2.1/os-services/%d" % cond["id"], mv="2.53"))
    assert nova(tok, "DELETE", "/v2.1/os-services/999999").status_code == 404
    assert nova(tok, "DELETE", "/v2.1/os-services/%d" % cond["id"]).status_code == 204
    left = nova(tok, "GET", "/v2.1/os-services?binary=nova-conductor").json()["services"]
    assert cond["id"] not in [s["id"] for s in left]


def test_services_cli(compute, osc):
    out = osc("--os-compute-api-version", "2.53", "compute", "service", "list", "--service",
              "nova-compute", "-f", "json")
    assert out and uuid.UUID(str(out[0]["ID"]))
    host = out[0]["Host"]
    osc("--os-compute-api-version", "2.53", "compute", "service", "set", "--disable",
        "--disable-reason", "cli", host, "nova-compute")
    try:
        out = osc("--os-compute-api-version", "2.53", "compute", "service", "list",
                  "--service", "nova-compute", "--long", "-f", "json")
        assert out[0]["Status"] == "disabled" and out[0]["Disabled Reason"] == "cli"
    finally:
        osc("--os-compute-api-version", "2.53", "compute", "service", "set", "--enable",
            host, "nova-compute")


# ---- hypervisors ------------------------------------------------------------------

def test_hypervisor_views(compute, admin):
    tok = admin[0]
    h21 = nova(tok, "GET", "/v2.1/os-hypervisors/detail").json()["hypervisors"][0]
    assert isinstance(h21["id"], int) and isinstance(h21["cpu_info"], str)
    assert isinstance(h21["service"]["id"], int) and "uptime" not in h21
    h28 = nova(tok, "GET", "/v2.1/os-hypervisors/%d" % h21["id"], mv="2.28").json()[
        "hypervisor"]
    assert isinstance(h28["cpu_info"], dict) and h28["vcpus"] == h21["vcpus"]
    h53 = nova(tok, "GET", "/v2.1/os-hypervisors/detail", mv="2.53").json()["hypervisors"][0]
    assert uuid.UUID(h53["id"]) and uuid.UUID(h53["service"]["id"])
    assert h53["hypervisor_hostname"] == h21["hypervisor_hostname"]
    # ids: integer before 2.53, uuid from it
    assert nova(tok, "GET", "/v2.1/os-hypervisors/" + h53["id"]).status_code == 404
    r = nova(tok, "GET", "/v2.1/os-hypervisors/%d" % h21["id"], mv="2.53")
    assert bad_request(r) == "Invalid uuid %d" % h21["id"]
    assert nova(tok, "GET", "/v2.1/os-hypervisors/" + str(uuid.uuid4()),
                mv="2.53").status_code == 404
    one = nova(tok, "GET", "/v2.1/os-hypervisors/" + h53["id"], mv="2.53").json()["hypervisor"]
    assert one["id"] == h53["id"] and "servers" not in one
    # 2.88 drops the capacity fields, adds uptime, removes statistics and uptime routes
    h88 = nova(tok, "GET", "/v2.1/os-hypervisors/" + h53["id"], mv="2.88").json()["hypervisor"]
    for k in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
              "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
              "running_vms", "disk_available_least", "cpu_info"):
        assert k not in h88, k
    assert "load average" in h88["uptime"]
    assert {"hypervisor_type", "hypervisor_version", "host_ip", "service", "state",
            "status"} <= set(h88)
    r = nova(tok, "GET", "/v2.1/os-hypervisors/statistics", mv="2.87")
    assert r.status_code == 200 and r.json()["hypervisor_statistics"]["count"] >= 1
    assert nova(tok, "GET", "/v2.1/os-hypervisors/statistics", mv="2.88").status_code == 404
    up = nova(tok, "GET", "/v2.1/os-hypervisors/%s/uptime" % h53["id"], mv="2.87")
    assert up.status_code == 200 and "load average" in up.json()["hypervisor"]["uptime"]
    assert nova(tok, "GET", "/v2.1/os-hypervisors/%d/uptime" % h21["id"]).status_code == 200
    assert nova(tok, "GET", "/v2.1/os-hypervisors/%s/uptime" % h53["id"],
                mv="2.88").status_code == 404


def test_hypervisor_paging_pattern_servers(compute, admin, image_id):
    tok = admin[0]
    all53 = nova(tok, "GET", "/v2.1/os-hypervisors", mv="2.53").json()["hypervisors"]
    r = nova(tok, "GET", "/v2.1/os-hypervisors?limit=1", mv="2.33").json()
    assert len(r["hypervisors"]) == 1
    link = r["hypervisors_links"][0]["href"]
    assert "limit=1" in link and "marker=%d" % r["hypervisors"][0]["id"] in link
    r = nova(tok, "GET", "/v2.1/os-hypervisors?marker=%d" % r["hypervisors"][0]["id"],
             mv="2.33").json()
    assert len(r["hypervisors"]) == len(all53) - 1
    bad_request(nova(tok, "GET", "/v2.1/os-hypervisors?marker=987654", mv="2.33"))
    # before 2.33 limit is ignored
    r = nova(tok, "GET", "/v2.1/os-hypervisors?limit=0", mv="2.32").json()
    assert len(r["hypervisors"]) == len(all53) and "hypervisors_links" not in r
    # 2.53: uuid marker, strict query, hostname pattern
    r = nova(tok, "GET", "/v2.1/os-hypervisors/detail?limit=1", mv="2.53").json()
    assert "marker=" + r["hypervisors"][0]["id"] in r["hypervisors_links"][0]["href"]
    bad_request(nova(tok, "GET", "/v2.1/os-hypervisors?foo=1", mv="2.53"))
    assert nova(tok, "GET", "/v2.1/os-hypervisors?foo=1", mv="2.52").status_code == 200
    name = all53[0]["hypervisor_hostname"]
    r = nova(tok, "GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=" + name[1:],
             mv="2.53")
    assert [h["hypervisor_hostname"] for h in r.json()["hypervisors"]] == [name]
    r = nova(tok, "GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=zz-none",
             mv="2.53")
    assert r.status_code == 404
    bad_request(nova(tok, "GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=%s&limit=1"
                     % name, mv="2.53"))
    # the search and servers routes before 2.53
    r = nova(tok, "GET", "/v2.1/os-hypervisors/%s/search" % name, mv="2.52")
    assert r.status_code == 200 and r.json()["hypervisors"][0]["hypervisor_hostname"] == name
    assert nova(tok, "GET", "/v2.1/os-hypervisors/zz-none/search").status_code == 404
    assert nova(tok, "GET", "/v2.1/os-hypervisors/%s/search" % name,
                mv="2.53").status_code == 404
    # with_servers: no "servers" key without servers before 2.75, [] from it
    hid = all53[0]["id"]
    quiet = nova(tok, "GET", "/v2.1/os-hypervisors/%s?with_servers=true" % hid, mv="2.53")
    if not quiet.json()["hypervisor"].get("servers"):
        assert "servers" not in quiet.json()["hypervisor"]
        r = nova(tok, "GET", "/v2.1/os-hypervisors/%s?with_servers=true" % hid, mv="2.75")
        assert r.json()["hypervisor"]["servers"] == []
    bad_request(nova(tok, "GET", "/v2.1/os-hypervisors/%s?with_servers=maybe" % hid, mv="2.53"))
    r = nova(tok, "POST", "/v2.1/servers", json={"server": {
        "name": uniq("hypsrv"), "flavorRef": "1", "imageRef": image_id}})
    sid = r.json()["server"]["id"]
    try:
        assert _wait_status(tok, sid, ("ACTIVE", "ERROR"))["status"] == "ACTIVE"
        one = nova(tok, "GET", "/v2.1/os-hypervisors/%s?with_servers=1" % hid,
                   mv="2.53").json()["hypervisor"]
        assert sid in [s["uuid"] for s in one["servers"]]
        assert all(set(s) == {"name", "uuid"} for s in one["servers"])
        lst = nova(tok, "GET", "/v2.1/os-hypervisors?with_servers=true", mv="2.53").json()
        assert sid in [s["uuid"] for h in lst["hypervisors"] for s in h.get("servers", [])]
        assert "servers" not in nova(tok, "GET", "/v2.1/os-hypervisors/" + hid,
                                     mv="2.53").json()["hypervisor"]
        old = nova(tok, "GET", "/v2.1/os-hypervisors/%s/servers" % name).json()
        assert sid in [s["uuid"] for s in old["hypervisors"][0]["servers"]]
        # a compute service hosting servers cannot be deleted
        svc = nova(tok, "GET", "/v2.1/os-services?binary=nova-compute", mv="2.53").json()[
            "services"][0]
        assert nova(tok, "DELETE", "/v2.1/os-services/" + svc["id"],
                    mv="2.53").status_code == 409
    finally:
        nova(tok, "DELETE", "/v2.1/servers/" + sid)


def test_hypervisor_cli(compute, osc):
    out = osc("--os-compute-api-version", "2.88", "hypervisor", "list", "-f", "json")
    assert out and uuid.UUID(str(out[0]["ID"]))
    show = osc("--os-compute-api-version", "2.88", "hypervisor", "show", str(out[0]["ID"]),
               "-f", "json")
    assert show["hypervisor_hostname"] == out[0]["Hypervisor Hostname"]


# ---- simple tenant usage --------------------------------------------------------------

def test_usage_pagination(compute, admin, osc, image_id):
    import datetime
    pw = "Mv-usage-pass-1"
    osc("project", "create", "--domain", "default", "mv-usage", check=False)
    osc("user", "create", "--domain", "default", "--password", pw, "mv-usage-u", check=False)
    osc("role", "add", "--project", "mv-usage", "--user", "mv-usage-u", "member")
    tok, _, project = _token("mv-usage-u", pw, "mv-usage")
    start = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%S")
    ids = []
    try:
        for i in range(3):
            r = nova(tok, "POST", "/v2.1/servers", json={"server": {
                "name": "use-%d" % i, "flavorRef": "1", "imageRef": image_id}})
            assert r.status_code == 202, r.text
            ids.append(r.json()["server"]["id"])
        for s in ids:
            _wait_status(tok, s, ("ACTIVE", "ERROR"))
        url = "/v2.1/os-simple-tenant-usage/%s?start=%s" % (project, start)
        full = nova(tok, "GET", url, mv="2.40").json()
        assert "tenant_usage_links" not in full
        order = [u["instance_id"] for u in full["tenant_usage"]["server_usages"]]
        assert sorted(order) == sorted(ids)
        r = nova(tok, "GET", url + "&limit=2", mv="2.40").json()
        assert [u["instance_id"] for u in r["tenant_usage"]["server_usages"]] == order[:2]
        link = r["tenant_usage_links"][0]["href"]
        assert "/os-simple-tenant-usage/%s?" % project in link
        assert "marker=" + order[1] in link and "limit=2" in link
        r = nova(tok, "GET", url + "&marker=" + order[1], mv="2.40").json()
        assert [u["instance_id"] for u in r["tenant_usage"]["server_usages"]] == order[2:]
        bad_request(nova(tok, "GET", url + "&marker=" + str(uuid.uuid4()), mv="2.40"))
        # before 2.40 limit is ignored and there are no links
        r = nova(tok, "GET", url + "&limit=1", mv="2.39").json()
        assert len(r["tenant_usage"]["server_usages"]) == 3 and "tenant_usage_links" not in r
        # the admin list pages too
        r = nova(admin[0], "GET", "/v2.1/os-simple-tenant-usage?detailed=1&limit=1&start=" +
                 start, mv="2.40").json()
        assert len(r["tenant_usages"]) == 1 and len(r["tenant_usages"][0]["server_usages"]) == 1
        assert r["tenant_usages_links"][0]["rel"] == "next"
        # 2.75: unknown query parameters
        assert nova(tok, "GET", url + "&foo=1", mv="2.74").status_code == 200
        bad_request(nova(tok, "GET", url + "&foo=1", mv="2.75"))
        bad_request(nova(admin[0], "GET", "/v2.1/os-simple-tenant-usage?foo=1", mv="2.75"))
    finally:
        for s in ids:
            nova(tok, "DELETE", "/v2.1/servers/" + s)


# ---- aggregates ---------------------------------------------------------------------

def test_aggregate_uuid(compute, admin):
    tok = admin[0]
    r = nova(tok, "POST", "/v2.1/os-aggregates", mv="2.41",
             json={"aggregate": {"name": uniq("agg"), "availability_zone": None}})
    assert r.status_code == 200, r.text
    a = r.json()["aggregate"]
    assert uuid.UUID(a["uuid"])
    aid = a["id"]
    assert isinstance(aid, int)
    assert "uuid" not in nova(tok, "GET", "/v2.1/os-aggregates/%d" % aid).json()["aggregate"]
    assert nova(tok, "GET", "/v2.1/os-aggregates/%d" % aid, mv="2.40").json()[
        "aggregate"].get("uuid") is None
    assert nova(tok, "GET", "/v2.1/os-aggregates/%d" % aid, mv="2.41").json()[
        "aggregate"]["uuid"] == a["uuid"]
    lst = nova(tok, "GET", "/v2.1/os-aggregates", mv="2.41").json()["aggregates"]
    assert [x["uuid"] for x in lst if x["id"] == aid] == [a["uuid"]]
    r = nova(tok, "PUT", "/v2.1/os-aggregates/%d" % aid, mv="2.41",
             json={"aggregate": {"name": uniq("agg2")}})
    assert r.json()["aggregate"]["uuid"] == a["uuid"]
    r = nova(tok, "POST", "/v2.1/os-aggregates/%d/action" % aid, mv="2.41",
             json={"set_metadata": {"metadata": {"k": "v"}}})
    assert r.json()["aggregate"]["uuid"] == a["uuid"]
    assert nova(tok, "DELETE", "/v2.1/os-aggregates/%d" % aid).status_code == 200


def test_disabled_service_takes_no_servers(compute, admin, image_id):
    tok = admin[0]
    sid = _compute_service(tok, "2.53")["id"]
    url = "/v2.1/os-services/" + sid
    vm = None
    try:
        assert nova(tok, "PUT", url, mv="2.53", json={"status": "disabled"}).status_code == 200
        r = nova(tok, "POST", "/v2.1/servers", json={"server": {
            "name": uniq("nohost"), "flavorRef": "1", "imageRef": image_id}})
        assert r.status_code == 202, r.text
        vm = r.json()["server"]["id"]
        s = _wait_status(tok, vm, ("ACTIVE", "ERROR"))
        assert s["status"] == "ERROR" and "No valid host" in s["fault"]["message"]
    finally:
        assert nova(tok, "PUT", url, mv="2.53", json={"status": "enabled"}).status_code == 200
        if vm:
            nova(tok, "DELETE", "/v2.1/servers/" + vm)
    r = nova(tok, "POST", "/v2.1/servers", json={"server": {
        "name": uniq("hashost"), "flavorRef": "1", "imageRef": image_id}})
    vm = r.json()["server"]["id"]
    assert _wait_status(tok, vm, ("ACTIVE", "ERROR"))["status"] == "ACTIVE"
    nova(tok, "DELETE", "/v2.1/servers/" + vm)


def test_aggregate_image_cache(compute, admin, osc):
    import glob
    import time
    tok = admin[0]
    with tempfile.NamedTemporaryFile(suffix=".qcow2") as f:
        subprocess.run(["qemu-img", "create", "-f", "qcow2", f.name, "32M"], check=True,
                       capture_output=True)
        img = osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", f.name, uniq("mv-cache"), "-f", "json")["id"]
    host = _compute_service(tok, None)["host"]
    aid = nova(tok, "POST", "/v2.1/os-aggregates",
               json={"aggregate": {"name": uniq("cache")}}).json()["aggregate"]["id"]
    assert nova(tok, "POST", "/v2.1/os-aggregates/%d/action" % aid,
                json={"add_host": {"host": host}}).status_code == 200
    url = "/v2.1/os-aggregates/%d/images" % aid
    body = {"cache": [{"id": img}]}
    try:
        assert nova(tok, "POST", url, mv="2.80", json=body).status_code == 404
        bad_request(nova(tok, "POST", url, mv="2.81", json={"cache": []}))
        bad_request(nova(tok, "POST", url, mv="2.81", json={"cache": [{"id": "x"}]}))
        bad_request(nova(tok, "POST", url, mv="2.81", json={"cache": [{"id": img}] * 2}))
        bad_request(nova(tok, "POST", url, mv="2.81",
                         json={"cache": [{"id": str(uuid.uuid4())}]}))
        bad_request(nova(tok, "POST", url, mv="2.81", json={"cache": [{"id": img, "x": 1}]}))
        bad_request(nova(tok, "POST", "/v2.1/os-aggregates/abc/images", mv="2.81", json=body))
        assert nova(tok, "POST", "/v2.1/os-aggregates/999999/images", mv="2.81",
                    json=body).status_code == 404
        r = nova(tok, "POST", url, mv="2.81", json=body)
        assert r.status_code == 202, r.text
        deadline = time.time() + 60
        while time.time() < deadline and not glob.glob(
                os.path.join(compute.root, "**", "_base", img), recursive=True):
            time.sleep(0.5)
        assert glob.glob(os.path.join(compute.root, "**", "_base", img), recursive=True)
    finally:
        nova(tok, "POST", "/v2.1/os-aggregates/%d/action" % aid,
             json={"remove_host": {"host": host}})
        nova(tok, "DELETE", "/v2.1/os-aggregates/%d" % aid)


# ---- tempest's response schemas ----------------------------------------------------------

class _Resp(dict):
    def __init__(self, r):
        super().__init__({k.lower(): v for k, v in r.headers.items()})
        self.status = r.status_code


def _check_schema(schema, r):
    from tempest.lib.common.rest_client import RestClient
    body = r.json() if r.content else ""
    RestClient.validate_response(schema, _Resp(r), body)


def test_tempest_response_schemas(compute, admin):
    """Our answers at each microversion satisfy the schemas tempest checks them with."""
    from tempest.lib.api_schema.response.compute import (
        v2_2, v2_11, v2_13, v2_28, v2_33, v2_36, v2_39, v2_41, v2_50, v2_53, v2_55, v2_57,
        v2_61, v2_64)
    import importlib
    m = {v: {n: importlib.import_module("%s.%s" % (pkg.__name__, n))
             for n in ("keypairs", "services", "server_groups", "hypervisors", "limits",
                       "quotas", "aggregates", "quota_classes", "flavors")
             if importlib.util.find_spec("%s.%s" % (pkg.__name__, n))}
         for v, pkg in (("2.2", v2_2), ("2.11", v2_11), ("2.13", v2_13), ("2.28", v2_28),
                        ("2.33", v2_33), ("2.36", v2_36), ("2.39", v2_39), ("2.41", v2_41),
                        ("2.50", v2_50), ("2.53", v2_53), ("2.55", v2_55), ("2.57", v2_57),
                        ("2.61", v2_61), ("2.64", v2_64))}
    tok, _, project = admin

    def check(mv, mod, schema, method, path, **kw):
        r = nova(tok, method, path, mv=mv, **kw)
        _check_schema(getattr(m[mv][mod], schema), r)
        return r

    # keypairs 2.2
    name = uniq("tk")
    check("2.2", "keypairs", "create_keypair", "POST", "/v2.1/os-keypairs",
          json={"keypair": {"name": name}})
    check("2.2", "keypairs", "get_keypair", "GET", "/v2.1/os-keypairs/" + name)
    check("2.2", "keypairs", "list_keypairs", "GET", "/v2.1/os-keypairs")
    check("2.2", "keypairs", "delete_keypair", "DELETE", "/v2.1/os-keypairs/" + name)
    # services 2.11, 2.53
    check("2.11", "services", "list_services", "GET", "/v2.1/os-services")
    host = _compute_service(tok, None)["host"]
    check("2.11", "services", "update_forced_down", "PUT", "/v2.1/os-services/force-down",
          json={"host": host, "binary": "nova-compute", "forced_down": False})
    check("2.53", "services", "list_services", "GET", "/v2.1/os-services")
    sid = _compute_service(tok, "2.53")["id"]
    check("2.53", "services", "update_service", "PUT", "/v2.1/os-services/" + sid,
          json={"status": "enabled"})
    # server groups 2.13, 2.64
    g = check("2.13", "server_groups", "create_show_server_group", "POST",
              "/v2.1/os-server-groups",
              json={"server_group": {"name": uniq("tg"), "policies": ["affinity"]}})
    gid = g.json()["server_group"]["id"]
    check("2.13", "server_groups", "list_server_groups", "GET", "/v2.1/os-server-groups")
    check("2.64", "server_groups", "create_show_server_group", "GET",
          "/v2.1/os-server-groups/" + gid)
    check("2.64", "server_groups", "list_server_groups", "GET", "/v2.1/os-server-groups")
    nova(tok, "DELETE", "/v2.1/os-server-groups/" + gid)
    # hypervisors 2.28, 2.33, 2.53
    h = nova(tok, "GET", "/v2.1/os-hypervisors").json()["hypervisors"][0]
    check("2.28", "hypervisors", "list_hypervisors_detail", "GET", "/v2.1/os-hypervisors/detail")
    check("2.28", "hypervisors", "get_hypervisor", "GET", "/v2.1/os-hypervisors/%d" % h["id"])
    check("2.28", "hypervisors", "get_hypervisor_uptime", "GET",
          "/v2.1/os-hypervisors/%d/uptime" % h["id"])
    check("2.33", "hypervisors", "list_hypervisors_detail", "GET",
          "/v2.1/os-hypervisors/detail?limit=1")
    check("2.33", "hypervisors", "list_search_hypervisors", "GET",
          "/v2.1/os-hypervisors?limit=1")
    h53 = nova(tok, "GET", "/v2.1/os-hypervisors", mv="2.53").json()["hypervisors"][0]
    check("2.53", "hypervisors", "list_hypervisors_detail", "GET",
          "/v2.1/os-hypervisors/detail?with_servers=true")
    check("2.53", "hypervisors", "list_search_hypervisors", "GET",
          "/v2.1/os-hypervisors?hypervisor_hostname_pattern=" + h53["hypervisor_hostname"])
    check("2.53", "hypervisors", "get_hypervisor", "GET", "/v2.1/os-hypervisors/" + h53["id"])
    check("2.53", "hypervisors", "get_hypervisor_uptime", "GET",
          "/v2.1/os-hypervisors/%s/uptime" % h53["id"])
    # limits and quotas 2.36, 2.39, 2.57; quota classes 2.50, 2.57
    for mv in ("2.36", "2.39", "2.57"):
        check(mv, "limits", "get_limit", "GET", "/v2.1/limits")
    for mv in ("2.36", "2.57"):
        check(mv, "quotas", "get_quota_set", "GET", "/v2.1/os-quota-sets/" + project)
        check(mv, "quotas", "get_quota_set_details", "GET",
              "/v2.1/os-quota-sets/%s/detail" % project)
        check(mv, "quotas", "update_quota_set", "PUT", "/v2.1/os-quota-sets/" + project,
              json={"quota_set": {"key_pairs": 100}})
    for mv in ("2.50", "2.57"):
        check(mv, "quota_classes", "get_quota_class_set", "GET",
              "/v2.1/os-quota-class-sets/default")
        check(mv, "quota_classes", "update_quota_class_set", "PUT",
              "/v2.1/os-quota-class-sets/default", json={"quota_class_set": {"cores": 20}})
    nova(tok, "DELETE", "/v2.1/os-quota-sets/" + project)
    # aggregates 2.41
    a = check("2.41", "aggregates", "create_aggregate", "POST", "/v2.1/os-aggregates",
              json={"aggregate": {"name": uniq("ta")}})
    aid = a.json()["aggregate"]["id"]
    check("2.41", "aggregates", "get_aggregate", "GET", "/v2.1/os-aggregates/%d" % aid)
    check("2.41", "aggregates", "list_aggregates", "GET", "/v2.1/os-aggregates")
    check("2.41", "aggregates", "update_aggregate", "PUT", "/v2.1/os-aggregates/%d" % aid,
          json={"aggregate": {"name": uniq("ta")}})
    check("2.41", "aggregates", "aggregate_set_metadata", "POST",
          "/v2.1/os-aggregates/%d/action" % aid, json={"set_metadata": {"metadata": {"a": "b"}}})
    check("2.41", "aggregates", "delete_aggregate", "DELETE", "/v2.1/os-aggregates/%d" % aid)
    # flavors 2.55, 2.61
    fid = uniq("tf")
    check("2.55", "flavors", "create_update_get_flavor_details", "POST", "/v2.1/flavors",
          json={"flavor": {"name": fid, "id": fid, "ram": 64, "vcpus": 1, "disk": 0,
                           "description": "d"}})
    check("2.55", "flavors", "create_update_get_flavor_details", "PUT", "/v2.1/flavors/" + fid,
          json={"flavor": {"description": "e"}})
    check("2.55", "flavors", "list_flavors", "GET", "/v2.1/flavors")
    check("2.55", "flavors", "list_flavors_details", "GET", "/v2.1/flavors/detail")
    check("2.61", "flavors", "create_update_get_flavor_details", "GET", "/v2.1/flavors/" + fid)
    check("2.61", "flavors", "list_flavors_details", "GET", "/v2.1/flavors/detail")
    check("2.61", "flavors", "list_flavors", "GET", "/v2.1/flavors")
    nova(tok, "DELETE", "/v2.1/flavors/" + fid)
