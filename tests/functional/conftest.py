"""Fixtures of the functional tier: a real monostackd over a real MariaDB and
RabbitMQ, driven by real clients (the openstack CLI, requests).

tests/functional/run.sh runs pytest inside a private network namespace, so the
daemon listens on the standard ports (5000, 9292, ...) of the namespace's own
loopback and MariaDB/RabbitMQ use their standard ports without clashing with
anything on the host.

Fixtures (other test files depend on these names):
  stack       session-wide running stack (see Stack below)
  osc         osc(*args, env=None, check=True): run the openstack CLI
  admin_token a project-scoped admin token (string)
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

SOURCE_DIR = os.environ.get("MS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("MS_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
SERVICES_SH = os.path.join(SOURCE_DIR, "scripts", "lib", "services.sh")

# Standard ports of the OpenStack services monostack speaks.
SERVICE_PORTS = {
    "identity": 5000,
    "image": 9292,
    "compute": 8774,
    "volume": 8776,
    "network": 9696,
    "metadata": 8775,
}
BUS_PORT = 5672
HEALTH_URL = "http://127.0.0.1:5000/healthcheck"

# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print
# (in the daemon's log, which holds its stderr, or in a tool's output). Some
# of these do not end the process (leaks are reported at exit, after the
# tests looked), so the harness looks for them after every test.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|"
    r"runtime error: |WARNING: (AddressSanitizer|ThreadSanitizer)")


def sanitizer_report(text):
    """The sanitizer report in text (from its first line on, shortened), or
    None when there is none."""
    m = SANITIZER_RE.search(text or "")
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 6000]


def _sigterm_to_keyboard_interrupt(signum, frame):
    # run.sh forwards SIGTERM (ctest's timeout, ^C) to pytest; as an
    # interrupt, the fixtures still stop the daemon, RabbitMQ and MariaDB.
    raise KeyboardInterrupt("SIGTERM")


signal.signal(signal.SIGTERM, _sigterm_to_keyboard_interrupt)


def _clean_env():
    """The caller's environment without OS_* (no clouds.yaml, no stray auth)
    and without proxies (everything here is on loopback)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_") and k.lower() not in
           ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    return env


def http_session():
    """A requests session that ignores proxy settings from the environment."""
    s = requests.Session()
    s.trust_env = False
    return s


class StackError(RuntimeError):
    pass


class Stack:
    """A private MariaDB + RabbitMQ + monostackd under one temporary dir.

    Attributes: urls (module name -> "http://127.0.0.1:PORT", only the
    listeners the daemon really serves), state_dir (the daemon's state_path),
    conf_path, admin_password, root (the temp dir), log_path, pid_path,
    start_seconds (time from the last daemon spawn until /healthcheck said 200).
    """

    def __init__(self, root):
        self.root = root
        self.state_dir = os.path.join(root, "state")
        self.svc_dir = os.path.join(root, "services")
        self.conf_path = os.path.join(root, "monostack.conf")
        self.log_path = os.path.join(root, "monostackd.log")
        self.pid_path = os.path.join(root, "monostackd.pid")
        self.db_socket = os.path.join(self.svc_dir, "mysql.sock")
        self.db_password = secrets.token_hex(12)
        self.admin_password = secrets.token_urlsafe(16)
        self.urls = {}
        self.proc = None
        self.start_seconds = None
        self.db_up = False
        self.bus_up = False
        self.log_checked = 0    # daemon log offset already searched for sanitizer reports
        for d in (self.state_dir, self.svc_dir):
            os.makedirs(d, exist_ok=True)
        # Helpers the daemon spawns may drop privileges; let them reach the dir.
        os.chmod(root, 0o755)

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def _run(cmd, check=True, timeout=300, **kw):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=kw.pop("env", _clean_env()), **kw)
        report = sanitizer_report(p.stdout + p.stderr)
        if report:
            raise StackError("sanitizer report from %s:\n%s" % (" ".join(cmd), report))
        if check and p.returncode != 0:
            raise StackError("%s failed (exit %d):\n%s%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def services(self, *args, check=True):
        return self._run(["bash", SERVICES_SH, *args], check=check)

    def binary(self, name):
        return os.path.join(BUILD_DIR, name)

    def db_url(self):
        return "mysql://monostack:%s@/monostack?unix_socket=%s" % (
            self.db_password, self.db_socket)

    def config_text(self, overrides=None):
        """The stack's configuration as INI text; overrides is
        {section: {option: value}} replacing or adding options."""
        sections = {
            "DEFAULT": {
                "host": "functest",
                "state_path": self.state_dir,
                "bind_host": "127.0.0.1",
                "log_level": "INFO",
            },
            "database": {"connection": self.db_url()},
            "bus": {"url": "amqp://guest:guest@127.0.0.1:%d/" % BUS_PORT},
            # Every openstack CLI call issues a password token; at the
            # default KDF cost (0.3 s a check) that dominates the tier's
            # time. The quickstart test runs with the default cost.
            "identity": {"password_hash_rounds": "10000"},
        }
        for sec, opts in (overrides or {}).items():
            sections.setdefault(sec, {}).update(opts)
        out = []
        for sec, opts in sections.items():
            out.append("[%s]" % sec)
            out.extend("%s = %s" % (k, v) for k, v in opts.items())
            out.append("")
        return "\n".join(out)

    def write_config(self, path=None, overrides=None):
        path = path or self.conf_path
        with open(path, "w") as f:
            f.write(self.config_text(overrides))
        return path

    def manage(self, *args, check=True, timeout=300):
        """Run monostack-manage --config CONF ARGS; returns CompletedProcess."""
        return self._run([self.binary("monostack-manage"), "--config", self.conf_path,
                          *args], check=check, timeout=timeout)

    # -- backing services -------------------------------------------------

    def start_db(self):
        self.services("mariadb-start", self.svc_dir)
        self.db_up = True

    def stop_db(self):
        self.db_up = False
        self.services("mariadb-stop", self.svc_dir)

    def start_bus(self):
        self.services("rabbitmq-start", self.svc_dir, str(BUS_PORT))
        self.bus_up = True

    def stop_bus(self):
        self.bus_up = False
        self.services("rabbitmq-stop", self.svc_dir)

    def create_database(self):
        sql = ("CREATE DATABASE IF NOT EXISTS monostack CHARACTER SET utf8mb4; "
               "CREATE USER IF NOT EXISTS 'monostack'@'localhost' IDENTIFIED BY '%s'; "
               "GRANT ALL PRIVILEGES ON monostack.* TO 'monostack'@'localhost'; "
               "FLUSH PRIVILEGES;" % self.db_password)
        self._run(["mariadb", "--no-defaults", "-S", self.db_socket, "-uroot", "-e", sql])

    # -- the daemon -------------------------------------------------------

    def daemon_running(self):
        return self.proc is not None and self.proc.poll() is None

    def start_daemon(self, extra_args=(), timeout=60):
        """Spawn monostackd and wait until /healthcheck answers 200.
        Returns the seconds from spawn to serving (also in start_seconds)."""
        if self.daemon_running():
            raise StackError("monostackd is already running")
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary("monostackd"), "--config", self.conf_path,
             "--pid-file", self.pid_path, *extra_args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_clean_env(),
            start_new_session=True)
        log.close()
        s = http_session()
        while True:
            if self.proc.poll() is not None:
                raise StackError("monostackd exited with %d during start; log tail:\n%s" % (
                    self.proc.returncode, self.daemon_log()[-4000:]))
            try:
                if s.get(HEALTH_URL, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - t0 > timeout:
                raise StackError("monostackd not healthy after %ds; log tail:\n%s" % (
                    timeout, self.daemon_log()[-4000:]))
            time.sleep(0.01)
        self.start_seconds = time.monotonic() - t0
        return self.start_seconds

    def stop_daemon(self, sig=signal.SIGTERM, timeout=60):
        """Signal monostackd and wait for it; returns its exit status
        (negative: killed by that signal), None if it was not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise StackError("monostackd did not exit %ds after signal %d" % (
                    timeout, sig))
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill_daemon(self):
        """SIGKILL, as a crash would; the pid file stays behind."""
        return self.stop_daemon(signal.SIGKILL)

    def restart_daemon(self, extra_args=()):
        self.stop_daemon()
        return self.start_daemon(extra_args)

    def daemon_pid(self):
        return self.proc.pid if self.daemon_running() else None

    def daemon_log(self, since=0):
        """The daemon's stdout/stderr, all starts appended (from byte since)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def check_sanitizers(self):
        """Raise StackError if the daemon's log got a sanitizer report since
        the last check."""
        size = self.log_size()
        text = self.daemon_log(self.log_checked)
        self.log_checked = size
        report = sanitizer_report(text)
        if report:
            raise StackError("sanitizer report in the monostackd log:\n" + report)

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def detect_urls(self):
        """Which standard ports answer a version document."""
        s = http_session()
        urls = {}
        for name, port in SERVICE_PORTS.items():
            url = "http://127.0.0.1:%d" % port
            try:
                s.get(url + "/", timeout=5)
            except requests.ConnectionError:
                continue
            urls[name] = url
        return urls

    # -- OpenStack client environment -------------------------------------

    def env(self, user="admin", password=None, project="admin"):
        """OS_* variables for the openstack CLI / openstacksdk."""
        if password is None:
            if user != "admin":
                raise ValueError("password is required for user %r" % user)
            password = self.admin_password
        env = {
            "OS_AUTH_URL": "http://127.0.0.1:5000/v3",
            "OS_USERNAME": user,
            "OS_PASSWORD": password,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_REGION_NAME": "RegionOne",
            "OS_INTERFACE": "public",
        }
        if project is not None:
            env["OS_PROJECT_NAME"] = project
            env["OS_PROJECT_DOMAIN_NAME"] = "Default"
        return env

    # -- whole-stack lifecycle --------------------------------------------

    def start(self):
        self.start_db()
        self.create_database()
        self.start_bus()
        self.write_config()
        self.manage("db", "sync")
        self.manage("fernet", "setup")
        self.start_daemon()
        self.manage("bootstrap", "--admin-password", self.admin_password,
                    "--public-url", "http://127.0.0.1")
        self.urls = self.detect_urls()

    def ensure_healthy(self):
        """Bring back whatever an earlier test stopped (cheap when nothing was)."""
        if not self.db_up:
            self.start_db()
        if not self.bus_up:
            self.start_bus()
        if not self.daemon_running():
            self.start_daemon()

    def close(self):
        errors = []
        for step in (self.stop_daemon, self.check_sanitizers, self.stop_bus, self.stop_db):
            try:
                step()
            except Exception as e:  # keep tearing down the rest
                errors.append(str(e))
        return errors


@pytest.fixture(scope="session")
def stack():
    root = tempfile.mkdtemp(prefix="ms-func-")
    st = Stack(root)
    errors = []
    try:
        st.start()
        print("\nstack: %s, daemon serving %.3f s after spawn, listeners %s" % (
            root, st.start_seconds, st.urls))
        yield st
    finally:
        errors = st.close()
        if errors:
            print("stack teardown problems:\n" + "\n".join(errors))
        if os.environ.get("MS_KEEP_STATE"):
            print("stack state kept in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    # A sanitizer report at the daemon's final exit (leaks) fails the run.
    reports = [e for e in errors if "sanitizer report" in e]
    if reports:
        pytest.fail("\n".join(reports))


@pytest.fixture(autouse=True)
def _healthy_stack(request):
    """Each test starts with the whole stack up, even after a fault test, and
    fails if monostackd died during it without the test stopping it."""
    if "stack" not in request.fixturenames:
        yield
        return
    st = request.getfixturevalue("stack")
    st.ensure_healthy()
    yield
    if st.proc is not None and st.proc.poll() is not None:
        rc = st.proc.returncode
        st.proc = None
        st.log_checked = st.log_size()
        pytest.fail("monostackd died during this test (exit status %d); log tail:\n%s"
                    % (rc, st.daemon_log()[-4000:]))
    try:
        st.check_sanitizers()
    except StackError as e:
        pytest.fail(str(e))


class OscError(AssertionError):
    def __init__(self, args, proc):
        self.args_ = args
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        super().__init__("openstack %s failed (exit %d):\n%s%s" % (
            " ".join(args), proc.returncode, proc.stderr, proc.stdout))


def _wants_json(args):
    for i, a in enumerate(args):
        if a in ("-f", "--format") and i + 1 < len(args) and args[i + 1] == "json":
            return True
        if a in ("-fjson", "--format=json"):
            return True
    return False


@pytest.fixture(scope="session")
def osc(stack):
    """osc(*args, env=None, check=True) runs `openstack ARGS` with env (default
    stack.env(), the admin). With check=True it returns the parsed JSON when
    `-f json` is among the args, else stdout, and raises OscError (carrying
    returncode, stdout, stderr) on a non-zero exit. With check=False it never
    raises and returns the subprocess.CompletedProcess, with an extra
    attribute `data` (the parsed JSON or stdout on success, None on failure)."""
    def run(*args, env=None, check=True, timeout=180):
        args = [str(a) for a in args]
        full = _clean_env()
        full.update(stack.env() if env is None else env)
        p = subprocess.run(["openstack", *args], capture_output=True, text=True,
                           env=full, timeout=timeout)
        data = None
        if p.returncode == 0:
            data = json.loads(p.stdout) if _wants_json(args) and p.stdout.strip() else p.stdout
        if not check:
            p.data = data
            return p
        if p.returncode != 0:
            raise OscError(args, p)
        return data
    return run


@pytest.fixture(scope="session")
def admin_token(stack):
    """A token for admin scoped to the admin project."""
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"},
            "password": stack.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    r = http_session().post(stack.urls.get("identity", "http://127.0.0.1:5000") + "/v3/auth/tokens",
                    json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


# ---- compute --------------------------------------------------------------

COMPUTE_URL = "http://127.0.0.1:8774"


@pytest.fixture(scope="module")
def compute(stack):
    """The stack with the daemon on the libvirt test:///default driver (servers
    go through the whole compute path without guests), bootstrapped so the
    classic flavors exist. Module scope: each compute module starts from a
    daemon restarted with that configuration."""
    stack.write_config(overrides={"libvirt": {"uri": "test:///default",
                                              "virt_type": "qemu"}})
    stack.restart_daemon()
    stack.manage("bootstrap", "--admin-password", stack.admin_password,
                 "--public-url", "http://127.0.0.1")
    return stack


def nova(token, method, path, mv=None, **kw):
    """A compute API call (path from /v2.1 or /); mv adds the
    OpenStack-API-Version header."""
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    if mv:
        headers["OpenStack-API-Version"] = "compute " + mv
    return http_session().request(method, COMPUTE_URL + path, headers=headers, timeout=60,
                                  **kw)
