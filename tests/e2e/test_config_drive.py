"""A real guest reads its config drive: the small image booted with
--use-config-drive gets an IDE cdrom (ISO 9660, label config-2) in its
domain, and its rcS mounts it and prints the uuid from
openstack/latest/meta_data.json on the serial console, which must be the
server's own id."""
import time

from conftest import GUEST_IMAGE

MARKER = "MONOSTACK-CONFIG-DRIVE uuid="
CONSOLE_TIMEOUT = 120


def test_guest_reads_config_drive(stack, osc, virsh):
    created = osc("image", "create", "--file", GUEST_IMAGE, "--disk-format", "qcow2",
                  "--container-format", "bare", "e2e-cd-guest", "-f", "json", timeout=300)
    flavor = osc("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1",
                 "e2e.cd", "-f", "json")
    s = osc("server", "create", "--flavor", flavor["id"], "--image", created["id"],
            "--use-config-drive", "--wait", "e2e-cd-vm", "-f", "json", timeout=300)
    sid = s["id"]
    assert s["status"] == "ACTIVE", s
    assert s["config_drive"] == "True"
    xml = virsh("dumpxml", sid)
    assert "device='cdrom'" in xml and "disk.config" in xml and "bus='ide'" in xml

    log = ""
    deadline = time.monotonic() + CONSOLE_TIMEOUT
    while time.monotonic() < deadline:
        log = osc("console", "log", "show", sid)
        if MARKER in log:
            break
        time.sleep(2)
    lines = [ln.strip() for ln in log.splitlines() if MARKER in ln]
    assert lines, "no %s on the console after %d s; console tail:\n%s" % (
        MARKER, CONSOLE_TIMEOUT, log[-3000:])
    assert lines[0] == MARKER + sid, lines[0]

    osc("server", "delete", "--wait", sid, timeout=180)
    assert sid not in virsh("list", "--all", "--uuid")
    osc("flavor", "delete", flavor["id"])
    osc("image", "delete", created["id"])
