"""Flavor extra spec validation, compute microversion 2.86: from 2.86 a key in
a known namespace must be a known key with a valid value (400 with Nova's
message otherwise, nothing stored), keys outside those namespaces pass; up to
2.85 nothing is checked. Raw HTTP with the OpenStack-API-Version header; each
test makes its own flavor."""
import uuid

import pytest

from conftest import http_session

COMPUTE = "http://127.0.0.1:8774"


@pytest.fixture(scope="module")
def compute(stack):
    stack.write_config(overrides={"libvirt": {"uri": "test:///default",
                                              "virt_type": "qemu"}})
    stack.restart_daemon()
    stack.manage("bootstrap", "--admin-password", stack.admin_password,
                 "--public-url", "http://127.0.0.1")
    return stack


def nova(token, method, path, mv=None, **kw):
    headers = {"X-Auth-Token": token}
    if mv:
        headers["OpenStack-API-Version"] = "compute " + mv
    return http_session().request(method, COMPUTE + "/v2.1" + path, headers=headers,
                                  timeout=60, **kw)


@pytest.fixture
def flavor(compute, admin_token):
    name = "es-%s" % uuid.uuid4().hex[:8]
    r = nova(admin_token, "POST", "/flavors",
             json={"flavor": {"name": name, "ram": 256, "vcpus": 1, "disk": 1}})
    assert r.status_code == 200, r.text
    fid = r.json()["flavor"]["id"]
    yield fid
    nova(admin_token, "DELETE", "/flavors/" + fid)


def specs(token, fid):
    r = nova(token, "GET", "/flavors/%s/os-extra_specs" % fid)
    assert r.status_code == 200, r.text
    return r.json()["extra_specs"]


def bad_request(r):
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body["badRequest"]["code"] == 400
    return body["badRequest"]["message"]


def test_bad_enum_value_refused_from_286_only(flavor, admin_token):
    url = "/flavors/%s/os-extra_specs" % flavor
    body = {"extra_specs": {"hw:cpu_policy": "bogus"}}
    r = nova(admin_token, "POST", url, mv="2.86", json=body)
    assert bad_request(r) == \
        "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."
    assert r.headers["OpenStack-API-Version"] == "compute 2.86"
    assert specs(admin_token, flavor) == {}
    r = nova(admin_token, "POST", url, mv="2.85", json=body)
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"hw:cpu_policy": "bogus"}


def test_unknown_key_in_known_namespace(flavor, admin_token):
    url = "/flavors/%s/os-extra_specs" % flavor
    for key in ("hw:cpu_polcy", "trait:NOT_A_TRAIT", "resources:BOGUS", "quota:cpu_limits"):
        r = nova(admin_token, "POST", url, mv="2.86", json={"extra_specs": {key: "1"}})
        assert bad_request(r) == ("Validation failed; extra spec '%s' does not appear to "
                                  "be a valid extra spec." % key)
    assert specs(admin_token, flavor) == {}
    r = nova(admin_token, "POST", url, mv="2.85", json={"extra_specs": {"hw:cpu_polcy": "1"}})
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"hw:cpu_polcy": "1"}


def test_unknown_namespaces_and_plain_keys_accepted(flavor, admin_token):
    extra = {"custom:thing": "x", "foo": "bar", "hardware:cpu_policy": "anything"}
    r = nova(admin_token, "POST", "/flavors/%s/os-extra_specs" % flavor, mv="2.86",
             json={"extra_specs": extra})
    assert r.status_code == 200, r.text
    assert r.json() == {"extra_specs": extra}
    assert specs(admin_token, flavor) == extra


def test_valid_specs_stored_at_286(flavor, admin_token):
    extra = {
        "hw:cpu_policy": "dedicated",
        "hw:cpu_realtime": "yes",
        "hw:cpu_realtime_mask": "^0-1",
        "hw:numa_nodes": "2",
        "hw:numa_cpus.0": "0,1",
        "hw:numa_mem.0": "128",
        "hw:mem_page_size": "2MB",
        "hw_rng:rate_bytes": "0",
        "os:monitors": "8",
        "quota:cpu_quota": "-1",
        "pci_passthrough:alias": "a1:2, b2:1",
        "resources:VCPU": "1",
        "resources1:CUSTOM_GPU": "1",
        "trait:HW_CPU_X86_AVX2": "required",
        "trait1:CUSTOM_FAST": "forbidden",
        "capabilities:cpu_info:features": "<in> aes",
        "aggregate_instance_extra_specs:ssd": "true",
        "group_policy": "isolate",
    }
    r = nova(admin_token, "POST", "/flavors/%s/os-extra_specs" % flavor, mv="2.86",
             json={"extra_specs": extra})
    assert r.status_code == 200, r.text
    assert r.json() == {"extra_specs": extra}
    assert specs(admin_token, flavor) == extra


def test_one_bad_spec_stores_none(flavor, admin_token):
    body = {"extra_specs": {"hw:cpu_policy": "shared", "hw:numa_nodes": "0"}}
    r = nova(admin_token, "POST", "/flavors/%s/os-extra_specs" % flavor, mv="2.86", json=body)
    assert bad_request(r) == "Validation failed; '0' is less than the min value of '1'."
    assert specs(admin_token, flavor) == {}


def test_numbers_validated_as_text(flavor, admin_token):
    url = "/flavors/%s/os-extra_specs" % flavor
    r = nova(admin_token, "POST", url, mv="2.86", json={"extra_specs": {"os:monitors": 9}})
    assert bad_request(r) == "Validation failed; '9' is greater than the max value of '8'."
    r = nova(admin_token, "POST", url, mv="2.86", json={"extra_specs": {"hw:cpu_realtime": 2}})
    assert bad_request(r) == "Validation failed; '2' is not a valid boolean-like value."
    r = nova(admin_token, "POST", url, mv="2.86", json={"extra_specs": {"os:monitors": 4}})
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"os:monitors": "4"}


def test_update_validated_from_286_only(flavor, admin_token):
    url = "/flavors/%s/os-extra_specs/hw:numa_nodes" % flavor
    r = nova(admin_token, "PUT", url, mv="2.86", json={"hw:numa_nodes": "two"})
    assert bad_request(r) == "Validation failed; 'two' is not a valid integer value."
    assert specs(admin_token, flavor) == {}
    r = nova(admin_token, "PUT", url, mv="2.86", json={"hw:numa_nodes": "2"})
    assert r.status_code == 200, r.text
    assert r.json() == {"hw:numa_nodes": "2"}
    r = nova(admin_token, "PUT", url, mv="2.85", json={"hw:numa_nodes": "two"})
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"hw:numa_nodes": "two"}

    url = "/flavors/%s/os-extra_specs/hw:mem_page_size" % flavor
    r = nova(admin_token, "PUT", url, mv="2.86", json={"hw:mem_page_size": "huge"})
    assert bad_request(r) == ("Validation failed; 'huge' is not of the format "
                              "'(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.")
    url = "/flavors/%s/os-extra_specs/hw:foo" % flavor
    r = nova(admin_token, "PUT", url, mv="2.86", json={"hw:foo": "1"})
    assert bad_request(r) == ("Validation failed; extra spec 'hw:foo' does not appear to "
                              "be a valid extra spec.")
    url = "/flavors/%s/os-extra_specs/my:key" % flavor
    r = nova(admin_token, "PUT", url, mv="2.86", json={"my:key": "v"})
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"hw:numa_nodes": "two", "my:key": "v"}


def test_default_version_does_not_validate(flavor, admin_token):
    # No header: the minimum, 2.1, where Nova checks nothing.
    r = nova(admin_token, "POST", "/flavors/%s/os-extra_specs" % flavor,
             json={"extra_specs": {"hw:watchdog_action": "explode"}})
    assert r.status_code == 200, r.text
    assert specs(admin_token, flavor) == {"hw:watchdog_action": "explode"}
