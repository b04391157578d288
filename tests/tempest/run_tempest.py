"""Start a private stack (the functional tier's Stack, with the libvirt test
driver so servers build without guests), upload the images the compute
tests boot, write a tempest.conf for what monostack serves, run tempest with
the given regexes, print the summary and stop the stack. Called by
tests/tempest/run.sh inside a network namespace."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "functional"))
from conftest import Stack, http_session  # noqa: E402

DEFAULT_EXCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "exclude.txt")

CONF = """[DEFAULT]
log_file = tempest.log

[auth]
admin_username = admin
admin_password = {password}
admin_project_name = admin
admin_domain_name = Default
use_dynamic_credentials = true
create_isolated_networks = false

[identity]
uri_v3 = http://127.0.0.1:5000/v3
uri = http://127.0.0.1:5000/v2.0
auth_version = v3
region = RegionOne
v3_endpoint_type = public
admin_role = admin
default_domain_id = default

[identity-feature-enabled]
api_v2 = false
api_v3 = true
application_credentials = true
access_rules = false
trust = false
security_compliance = false
project_tags = true
domain_specific_drivers = false
external_idp = false

[service_available]
glance = {image}
nova = {compute}
cinder = false
neutron = false
swift = false
horizon = false

[image]
region = RegionOne
endpoint_type = public
container_formats = bare,ovf,ami,ari,aki,ova
# tempest uploads random bytes as disk_formats[0] and as the first six
# formats: list only those whose content monostack does not inspect
# (it refuses data that does not match an inspected disk_format)
disk_formats = raw,ami,ari,aki,ploop

[image-feature-enabled]
api_v2 = true
api_v1 = false
import_image = true
os_glance_reserved = true

[compute]
region = RegionOne
endpoint_type = public
image_ref = {image_ref}
image_ref_alt = {image_ref_alt}
# m1.tiny and m1.small from `monostack-manage bootstrap`
flavor_ref = 1
flavor_ref_alt = 2
fixed_network_name =
min_compute_nodes = 1
# the range the daemon's version document announces, so tempest also runs
# its tests of every microversion monostack implements
min_microversion = {mv_min}
max_microversion = {mv_max}

# What monostack's compute API really does (README, src/compute/actions.c);
# no networks, volumes, config drive, migration or console proxies yet.
[compute-feature-enabled]
resize = true
disk_config = true
# no guest writes a serial console under test:///default (tests/e2e checks
# console output with real guests); true would make tempest wait 300 s
console_output = false
pause = true
suspend = true
rescue = true
stable_rescue = false
shelve = true
shelve_migrate = false
snapshot = true
change_password = false
cold_migration = false
live_migration = false
vnc_console = false
spice_console = false
serial_console = false
rdp_console = false
config_drive = false
metadata_service = false
interface_attach = false
attach_encrypted_volume = false
personality = false
swap_volume = false
volume_multiattach = false
# tempest runs its server metadata write tests only with this flag (guests
# see metadata read-only outside Xen); monostack's API does serve them. The
# other xenapi tests (agents, resetNetwork) are outside the compute tier.
xenapi_apis = true

[network-feature-enabled]
ipv6 = false

[validation]
run_validation = false
"""


class TempestStack(Stack):
    """The functional tier's stack with [libvirt] uri = test:///default:
    servers go through the whole compute path (tasks, driver calls, state
    changes) without booting guests."""

    def write_config(self, path=None, overrides=None):
        merged = {"libvirt": {"uri": "test:///default", "virt_type": "qemu"}}
        for sec, opts in (overrides or {}).items():
            merged.setdefault(sec, {}).update(opts)
        return super().write_config(path, merged)


def upload_image(token, name, path):
    """Create a public bare qcow2 image from path; returns its id."""
    s = http_session()
    glance = "http://127.0.0.1:9292/v2/images"
    r = s.post(glance, headers={"X-Auth-Token": token}, timeout=30, json={
        "name": name, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"})
    r.raise_for_status()
    image_id = r.json()["id"]
    with open(path, "rb") as f:
        r = s.put("%s/%s/file" % (glance, image_id), data=f, timeout=60, headers={
            "X-Auth-Token": token, "Content-Type": "application/octet-stream"})
    r.raise_for_status()
    return image_id


def compute_images(stack, root):
    """Two small valid qcow2 images (tempest rebuilds from one to the
    other); (image_ref, image_ref_alt), or ("", "") without an image API."""
    if "image" not in stack.urls:
        return "", ""
    r = http_session().post("http://127.0.0.1:5000/v3/auth/tokens", timeout=30, json={
        "auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": stack.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    r.raise_for_status()
    token = r.headers["X-Subject-Token"]
    path = os.path.join(root, "tempest-image.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "16M"], check=True)
    return (upload_image(token, "tempest-image", path),
            upload_image(token, "tempest-image-alt", path))


def compute_mv_range(stack):
    """(min, max) microversion of the compute API, from GET /v2.1."""
    if "compute" not in stack.urls:
        return "2.1", "2.1"
    v = http_session().get(stack.urls["compute"] + "/v2.1", timeout=30).json()["version"]
    return v["min_version"], v["version"]


def main():
    log_path, regexes = sys.argv[1], sys.argv[2:]
    root = tempfile.mkdtemp(prefix="ms-tempest-")
    stack = TempestStack(root)
    stack.start()
    try:
        # only for compute runs: the image suite's listings see every image
        image_ref, image_ref_alt = "", ""
        if any("compute" in r for r in regexes):
            image_ref, image_ref_alt = compute_images(stack, root)
        ws = os.path.join(root, "tempest")
        # a private workspace file: concurrent runs must not clash on the
        # global ~/.tempest/workspace.yaml name "tempest"
        subprocess.run(["tempest", "init", "--workspace-path",
                        os.path.join(root, "workspace.yaml"), ws],
                       check=True, capture_output=True, cwd=root)
        mv_min, mv_max = compute_mv_range(stack)
        with open(os.path.join(ws, "etc", "tempest.conf"), "w") as f:
            f.write(CONF.format(password=stack.admin_password,
                                image=str("image" in stack.urls).lower(),
                                compute=str("compute" in stack.urls).lower(),
                                image_ref=image_ref, image_ref_alt=image_ref_alt,
                                mv_min=mv_min, mv_max=mv_max))
        regex = "|".join("(%s)" % r for r in regexes)
        cmd = ["tempest", "run", "--concurrency", "2", "--regex", regex]
        # APIs monostack does not serve are excluded by a reviewed list
        # (MS_TEMPEST_EXCLUDE= runs everything, or names another list).
        exclude = os.environ.get("MS_TEMPEST_EXCLUDE", DEFAULT_EXCLUDE)
        if exclude:
            cmd += ["--exclude-list", os.path.abspath(exclude)]
            print("excluding the tests listed in", exclude)
        with open(log_path, "w") as log:
            rc = subprocess.run(cmd, cwd=ws, stdout=log, stderr=subprocess.STDOUT).returncode
        with open(log_path) as log:
            lines = log.read().splitlines()
        # tempest ends with "Totals" and "Worker Balance" blocks
        start = next((i for i, l in enumerate(lines) if l.startswith("Totals")), len(lines))
        print("\n".join(lines[start:start + 12]))
        failed = [l for l in lines if l.startswith("{") and " ... FAILED" in l]
        for l in failed:
            print(l)
        print("full log:", log_path)
        return rc
    finally:
        stack.close()
        # the daemon's side of every failure, next to tempest's log
        if os.path.exists(stack.log_path):
            shutil.copyfile(stack.log_path, log_path + ".monostackd")
            print("daemon log:", log_path + ".monostackd")
        if os.environ.get("MS_KEEP_STATE"):
            print("stack and tempest workspace kept in", root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
