"""Fixtures of the e2e tier: the functional tier's stack (MariaDB + RabbitMQ +
monostackd, tests/functional/conftest.py) with the daemon pointed at the
private libvirtd that tests/e2e/run.sh started in this network namespace, so
servers are real QEMU guests.

run.sh passes:
  MS_LIBVIRT_URI   qemu:///system?socket=<private libvirtd socket>
  MS_GUEST_IMAGE   the small guest qcow2 (scripts/build-guest-image.sh)
  MS_E2E_RUN       run.sh's temporary dir (the stack lives under it)
  MS_E2E_VIRT_TYPE optional: [libvirt] virt_type (default qemu, i.e. TCG:
                   /dev/kvm on the CI machines is PVM, PLATFORM.md §7)

Fixtures: stack, osc, admin_token (as in the functional tier), virsh.
"""
import importlib.util
import os
import shutil
import subprocess
import tempfile

import pytest

_FUNC_CONFTEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                              "functional", "conftest.py")
_spec = importlib.util.spec_from_file_location("ms_functional_conftest", _FUNC_CONFTEST)
func = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(func)

# The functional tier's fixtures, reused as they are.
osc = func.osc
admin_token = func.admin_token
_healthy_stack = func._healthy_stack

LIBVIRT_URI = os.environ.get("MS_LIBVIRT_URI", "")
GUEST_IMAGE = os.environ.get("MS_GUEST_IMAGE", "")
VIRT_TYPE = os.environ.get("MS_E2E_VIRT_TYPE", "qemu")


class E2EStack(func.Stack):
    """The functional Stack whose every configuration (start, restarts,
    rewrites) carries the real libvirt settings."""

    def config_text(self, overrides=None):
        merged = {
            "DEFAULT": {"host": "e2etest"},
            "libvirt": {"uri": LIBVIRT_URI, "virt_type": VIRT_TYPE},
        }
        for sec, opts in (overrides or {}).items():
            merged.setdefault(sec, {}).update(opts)
        return super().config_text(merged)


@pytest.fixture(scope="session")
def stack():
    if not LIBVIRT_URI or not GUEST_IMAGE:
        pytest.fail("run the e2e tier through tests/e2e/run.sh BUILD_DIR "
                    "(MS_LIBVIRT_URI and MS_GUEST_IMAGE are not set)")
    root = tempfile.mkdtemp(prefix="stack-", dir=os.environ.get("MS_E2E_RUN") or None)
    st = E2EStack(root)
    errors = []
    try:
        st.start()
        print("\nstack: %s, daemon serving %.3f s after spawn, libvirt %s" % (
            root, st.start_seconds, LIBVIRT_URI))
        yield st
    finally:
        errors = st.close()
        if errors:
            print("stack teardown problems:\n" + "\n".join(errors))
        if os.environ.get("MS_KEEP_STATE"):
            print("stack state kept in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    reports = [e for e in errors if "sanitizer report" in e]
    if reports:
        pytest.fail("\n".join(reports))


@pytest.fixture(scope="session")
def virsh():
    """virsh(*args, check=True) against the private libvirtd; returns stdout."""
    def run(*args, check=True):
        p = subprocess.run(["virsh", "-c", LIBVIRT_URI, *args], capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("virsh %s failed (exit %d): %s%s" % (
                " ".join(args), p.returncode, p.stderr, p.stdout))
        return p.stdout
    return run
