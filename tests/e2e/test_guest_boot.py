"""A real guest: the small image (scripts/build-guest-image.sh) uploaded to
the image service, booted by the compute service through the private
libvirtd under QEMU (TCG when KVM cannot run stock guests), to ACTIVE, its
serial console read through `openstack console log show` until the guest's
rcS prints its ready marker, then deleted, leaving no libvirt domain."""
import os
import time

from conftest import GUEST_IMAGE, VIRT_TYPE

MARKER = "MONOSTACK-GUEST-READY"
CONSOLE_TIMEOUT = 120


def test_boot_guest_to_console_marker(stack, osc, virsh):
    created = osc("image", "create", "--file", GUEST_IMAGE, "--disk-format", "qcow2",
                  "--container-format", "bare", "e2e-guest", "-f", "json", timeout=300)
    # the CLI prints the image as created, before the upload: show it again
    img = osc("image", "show", created["id"], "-f", "json")
    assert img["status"] == "active"
    assert img["size"] == os.path.getsize(GUEST_IMAGE)
    flavor = osc("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1",
                 "e2e.tiny", "-f", "json")

    t0 = time.monotonic()
    s = osc("server", "create", "--flavor", flavor["id"], "--image", img["id"],
            "--wait", "e2e-vm", "-f", "json", timeout=300)
    t_active = time.monotonic() - t0
    sid = s["id"]
    assert s["status"] == "ACTIVE", s
    show = osc("server", "show", sid, "-f", "json")
    assert show["OS-EXT-STS:power_state"] in ("Running", 1), show

    # The domain is real and running, of the configured type (qemu = TCG).
    assert virsh("domstate", sid).strip() == "running"
    xml = virsh("dumpxml", sid)
    assert "<domain type='%s'" % VIRT_TYPE in xml
    if os.path.exists("/sys/module/kvm_pvm"):
        assert "<domain type='qemu'" in xml, "PVM cannot run stock guests: must be TCG"

    log = ""
    deadline = time.monotonic() + CONSOLE_TIMEOUT
    while time.monotonic() < deadline:
        log = osc("console", "log", "show", sid)
        if MARKER in log:
            break
        time.sleep(2)
    t_marker = time.monotonic() - t0
    assert MARKER in log, "no %s on the console after %d s; console tail:\n%s" % (
        MARKER, CONSOLE_TIMEOUT, log[-3000:])
    marker_line = [ln for ln in log.splitlines() if MARKER in ln][0]
    print("\nserver ACTIVE %.1f s after create, console marker at %.1f s: %s" % (
        t_active, t_marker, marker_line.strip()))
    # --lines works against the real console too.
    tail = osc("console", "log", "show", "--lines", "5", sid)
    assert 0 < len(tail.splitlines()) <= 5

    osc("server", "delete", "--wait", sid, timeout=180)
    assert osc("server", "show", sid, check=False).returncode != 0
    assert sid not in virsh("list", "--all", "--uuid")
    # this private libvirtd ran only this guest: nothing may be left, not
    # even a shut-off definition
    assert virsh("list", "--all", "--name").strip() == ""

    osc("flavor", "delete", flavor["id"])
    osc("image", "delete", img["id"])
