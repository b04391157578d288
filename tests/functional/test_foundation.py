"""The foundation (issue 2) against a running daemon: version documents,
/healthcheck and /metrics on every listener, the HTTP core's answers to bad
input in the receiving service's own error style, request ids, the access
log, configuration checking, and the faults: database down at start,
database and RabbitMQ lost while running, SIGTERM/SIGKILL."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import SERVICE_PORTS, http_session, sanitizer_report

ID = "http://127.0.0.1:5000"

# The request id header each real service sends (nova sends both).
REQUEST_ID_HEADER = {
    "identity": "x-openstack-request-id",
    "image": "x-openstack-request-id",
    "compute": "x-compute-request-id",
    "volume": "x-openstack-request-id",
    "network": "x-openstack-request-id",
    "metadata": "x-openstack-request-id",
}
RID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def assert_request_id(headers, service="identity"):
    rid = headers.get(REQUEST_ID_HEADER[service])
    assert rid, "no %s header in %s" % (REQUEST_ID_HEADER[service], dict(headers))
    assert RID_RE.match(rid), rid
    return rid


def assert_keystone_error(r, status):
    """Keystone's error body: {"error": {"code", "title", "message"}}."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["code"] == status, err
    assert err["title"] == http.client.responses[status], err
    assert isinstance(err["message"], str) and err["message"], err
    assert_request_id(r.headers)
    return err


def listeners(stack):
    return sorted(stack.urls.items())


def health(url, timeout=5):
    r = http_session().get(url + "/healthcheck", timeout=timeout)
    return r, (r.json() if r.headers.get("Content-Type", "").startswith("application/json")
               else None)


def component_up(body, name):
    """Whether the healthcheck body reports component `name` as up. Accepts
    "name": "ok"/"up"/true or "name": {"status": ...}."""
    v = body[name]
    if isinstance(v, dict):
        v = v.get("status", v.get("state"))
    if isinstance(v, bool):
        return v
    return str(v).lower() in ("ok", "up", "available", "true", "pass")


def wait_for(pred, timeout, step=0.1):
    """Poll pred() until it returns a true value; returns (value, seconds)."""
    t0 = time.monotonic()
    while True:
        v = pred()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(step)


def raw_request(port, data, timeout=15):
    """Send raw bytes, return (status, headers, body) of the answer; status is
    None when the server closed the connection without answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            chunks.append(c)
            buf = b"".join(chunks)
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    finally:
        s.close()
    buf = b"".join(chunks)
    if not buf.startswith(b"HTTP/"):
        return None, {}, buf
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def daemon_alive_and_healthy(stack):
    assert stack.daemon_running(), "monostackd died:\n" + stack.daemon_log()[-3000:]
    r, _ = health(ID)
    assert r.status_code == 200


# --------------------------------------------------------------------------
# Listeners: version documents, healthcheck, metrics


def test_identity_listens(stack):
    assert "identity" in stack.urls, stack.urls
    print("listeners:", stack.urls)


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_version_document(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    r = http_session().get(stack.urls[service] + "/", timeout=10)
    assert r.status_code in (200, 300), (r.status_code, r.text)
    assert_request_id(r.headers, service)
    if service == "metadata":
        assert r.text.strip(), "empty metadata version list"
        return
    body = r.json()
    assert "versions" in body, body


def test_identity_version_documents(stack):
    s = http_session()
    r = s.get(ID + "/", timeout=10)
    # Keystone answers GET / with 300 Multiple Choices.
    assert r.status_code == 300, r.text
    values = r.json()["versions"]["values"]
    v3 = [v for v in values if v["id"].startswith("v3.")]
    assert v3 and v3[0]["status"] == "stable", values
    assert any(link["rel"] == "self" and link["href"].rstrip("/").endswith("/v3")
               for link in v3[0]["links"]), v3
    r = s.get(ID + "/v3", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["version"]["id"] == v3[0]["id"]
    assert_request_id(r.headers)


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_healthcheck(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    r, body = health(stack.urls[service])
    assert r.status_code == 200, r.text
    assert body is not None, r.headers
    assert component_up(body, "database"), body
    assert component_up(body, "bus"), body
    assert_request_id(r.headers, service)


def _metric(text, service, route, code):
    pat = re.compile(r'^monostack_requests_total\{service="%s",route="%s",code="%s"\} (\d+)$'
                     % (re.escape(service), re.escape(route), re.escape(code)), re.M)
    m = pat.search(text)
    return int(m.group(1)) if m else 0


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_metrics(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    s = http_session()
    r = s.get(stack.urls[service] + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    assert "# TYPE monostack_requests_total counter" in r.text
    assert "# TYPE monostack_request_duration_seconds histogram" in r.text


def test_metrics_count_per_route(stack):
    s = http_session()
    before = _metric(s.get(ID + "/metrics", timeout=10).text, "identity", "v3", "2xx")
    for _ in range(3):
        assert s.get(ID + "/v3", timeout=10).status_code == 200
    assert s.get(ID + "/v3/no-such-thing", timeout=10).status_code == 404
    text = s.get(ID + "/metrics", timeout=10).text
    assert _metric(text, "identity", "v3", "2xx") == before + 3, text
    assert re.search(r'^monostack_request_duration_seconds_count\{service="identity",'
                     r'route="v3"\} \d+$', text, re.M), text
    assert re.search(r'^monostack_request_duration_seconds_bucket\{service="identity",'
                     r'route="v3",le="\+Inf"\} \d+$', text, re.M), text


# --------------------------------------------------------------------------
# Bad input, answered in the receiving service's own style, never a crash

TOKEN_BODY = {"auth": {"identity": {"methods": ["password"], "password": {
    "user": {"name": "admin", "domain": {"name": "Default"}, "password": "x"}}}}}


def test_malformed_json(stack):
    r = http_session().post(ID + "/v3/auth/tokens", data=b'{"auth": {"identity": ',
                    headers={"Content-Type": "application/json"}, timeout=10)
    assert_keystone_error(r, 400)


def test_json_not_an_object(stack):
    r = http_session().post(ID + "/v3/auth/tokens", data=b'[1, 2, 3]',
                    headers={"Content-Type": "application/json"}, timeout=10)
    assert_keystone_error(r, 400)


def test_wrong_content_type(stack):
    # Keystone's json_body_before_request: a body that is not declared JSON
    # is a ValidationError (400) naming application/json and the header.
    r = http_session().post(ID + "/v3/auth/tokens", data=json.dumps(TOKEN_BODY).encode(),
                    headers={"Content-Type": "text/plain"}, timeout=10)
    err = assert_keystone_error(r, 400)
    assert "application/json" in err["message"], err
    assert "Content-Type" in err["message"], err


def test_oversized_body(stack):
    big = json.dumps({"auth": {"pad": "x" * 200000}}).encode()
    r = http_session().post(ID + "/v3/auth/tokens", data=big,
                    headers={"Content-Type": "application/json"}, timeout=30)
    assert_keystone_error(r, 413)
    daemon_alive_and_healthy(stack)


def test_oversized_chunked_body(stack):
    def gen():
        yield b'{"auth": {"pad": "'
        for _ in range(50):
            yield b"x" * 8192
        yield b'"}}'
    r = http_session().post(ID + "/v3/auth/tokens", data=gen(),
                    headers={"Content-Type": "application/json"}, timeout=30)
    assert_keystone_error(r, 413)
    daemon_alive_and_healthy(stack)


def test_unknown_path(stack):
    r = http_session().get(ID + "/v3/no-such-collection", timeout=10)
    assert_keystone_error(r, 404)
    r = http_session().get(ID + "/definitely/not/here", timeout=10)
    assert_keystone_error(r, 404)


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_unknown_path_every_listener(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    r = http_session().get(stack.urls[service] + "/no/such/path/here", timeout=10)
    assert r.status_code == 404, r.text
    assert_request_id(r.headers, service)


def test_wrong_method(stack):
    r = http_session().delete(ID + "/v3", timeout=10)
    assert_keystone_error(r, 405)
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert "GET" in allow and "DELETE" not in allow, allow


def test_very_long_url(stack):
    path = "/v3/" + "a" * 200000
    status, headers, body = raw_request(
        5000, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nConnection: close\r\n\r\n"
               % path).encode())
    print("very long URL ->", status, body[:200])
    assert status in (400, 414), (status, headers, body[:500])
    daemon_alive_and_healthy(stack)


def test_header_flood(stack):
    head = "GET /v3 HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nConnection: close\r\n"
    head += "".join("X-Flood-%d: %s\r\n" % (i, "v" * 100) for i in range(3000))
    status, headers, body = raw_request(5000, (head + "\r\n").encode())
    print("header flood ->", status, body[:200])
    assert status in (400, 431), (status, headers, body[:500])
    daemon_alive_and_healthy(stack)


def test_garbage_request_line(stack):
    status, _, body = raw_request(5000, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20)
    assert status in (None, 400), (status, body[:300])
    daemon_alive_and_healthy(stack)


def test_request_ids_unique(stack):
    s = http_session()
    ids = set()
    for path in ("/", "/v3", "/healthcheck", "/metrics", "/nope"):
        r = s.get(ID + path, timeout=10)
        ids.add(assert_request_id(r.headers))
    assert len(ids) == 5, ids


def test_keep_alive(stack):
    conn = http.client.HTTPConnection("127.0.0.1", 5000, timeout=10)
    try:
        conn.request("GET", "/v3")
        r1 = conn.getresponse()
        r1.read()
        sock = conn.sock
        conn.request("GET", "/v3")
        r2 = conn.getresponse()
        r2.read()
        assert r1.status == r2.status == 200
        assert conn.sock is sock and sock is not None, "connection was not kept alive"
    finally:
        conn.close()


def test_access_log_line(stack):
    r = http_session().get(ID + "/v3", timeout=10)
    rid = assert_request_id(r.headers)

    def line():
        for ln in stack.daemon_log().splitlines():
            if rid in ln:
                return ln
        return None
    ln, _ = wait_for(line, 5)
    assert ln, "no access log line with " + rid
    print("access log:", ln)
    assert "GET" in ln and "/v3" in ln and "200" in ln, ln
    assert re.search(r"\b\d+\s*(us|usec|µs)\b|\b(us|usec|latency_us|duration_us)=\d+", ln), ln


def test_no_secrets_in_log(stack, admin_token):
    log = stack.daemon_log()
    assert stack.admin_password not in log
    assert admin_token not in log
    assert stack.db_password not in log


# --------------------------------------------------------------------------
# Command line and configuration


def monostackd(stack, *args, timeout=60):
    p = subprocess.run([stack.binary("monostackd"), *args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    report = sanitizer_report(p.stdout + p.stderr)
    assert not report, "sanitizer report from monostackd %s:\n%s" % (" ".join(args), report)
    return p.returncode, p.stdout + p.stderr


def test_version_and_help(stack):
    rc, out = monostackd(stack, "--version")
    assert rc == 0 and re.search(r"\d+\.\d+\.\d+", out), out
    rc, out = monostackd(stack, "--help")
    assert rc == 0 and "--config" in out and "--pid-file" in out and "-n" in out, out
    rc, out = monostackd(stack, "--no-such-flag")
    assert rc != 0, out


def test_check_config_good(stack):
    rc, out = monostackd(stack, "-n", "--config", stack.conf_path)
    assert rc == 0, out


def test_check_config_missing_file(stack):
    rc, out = monostackd(stack, "-n", "--config", "/nonexistent/monostack.conf")
    assert rc != 0
    assert "/nonexistent/monostack.conf" in out, out


@pytest.mark.parametrize("section,option,value", [
    ("identity", "port", "fivethousand"),
    ("identity", "port", "70000"),
    ("DEFAULT", "log_level", "LOUD"),
    ("image", "enabled", "maybe"),
    ("DEFAULT", "max_request_body_size", "-5"),
])
def test_check_config_bad_value(stack, tmp_path, section, option, value):
    text = stack.config_text()
    text += "\n# a comment\n[%s]\n%s = %s\n" % (section, option, value)
    line = text.split("\n").index("%s = %s" % (option, value)) + 1
    path = tmp_path / "bad.conf"
    path.write_text(text)
    rc, out = monostackd(stack, "-n", "--config", str(path))
    assert rc == 2, out
    assert str(path) in out, out
    assert re.search(r"\b%d\b" % line, out), "line %d not named: %s" % (line, out)
    assert option in out, out


def test_unknown_option_warns(stack, tmp_path):
    path = tmp_path / "unknown.conf"
    path.write_text(stack.config_text({"DEFAULT": {"no_such_option_xyz": "1"}}))
    rc, out = monostackd(stack, "-n", "--config", str(path))
    assert rc == 0, out
    assert "no_such_option_xyz" in out and re.search("warn", out, re.I), out


def test_database_down_at_start(stack, tmp_path):
    # A second daemon on other ports, pointed at a database that is not there.
    overrides = {sec: {"port": str(port + 10000)} for sec, port in SERVICE_PORTS.items()}
    overrides["DEFAULT"] = {"state_path": str(tmp_path / "state")}
    overrides["database"] = {
        "connection": "mysql://monostack:x@/monostack?unix_socket=%s" % (tmp_path / "no.sock"),
        "connect_timeout": "2"}
    os.makedirs(tmp_path / "state")
    path = stack.write_config(str(tmp_path / "nodb.conf"), overrides)
    t0 = time.monotonic()
    rc, out = monostackd(stack, "--config", path, timeout=120)
    print("database down at start: exit %d after %.2f s: %s" % (
        rc, time.monotonic() - t0, out.strip()[-300:]))
    assert rc != 0, out
    assert re.search("database", out, re.I), out


# --------------------------------------------------------------------------
# Faults while running

def _token_request():
    body = json.loads(json.dumps(TOKEN_BODY))
    return http_session().post(ID + "/v3/auth/tokens", json=body, timeout=30)


def test_database_lost_and_back(stack):
    pid = stack.daemon_pid()
    stack.stop_db()
    try:
        def down():
            r, body = health(ID, timeout=30)
            return (r, body) if r.status_code == 503 else None
        got, secs = wait_for(down, 30)
        assert got, "healthcheck still 200 with the database stopped"
        r, body = got
        print("healthcheck 503 %.2f s after the database stopped: %s" % (secs, body))
        assert body is not None and not component_up(body, "database"), body
        assert component_up(body, "bus"), body
        # An API call that needs the database: 503 in keystone's style.
        assert_keystone_error(_token_request(), 503)
    finally:
        stack.start_db()

    def up():
        r, _ = health(ID, timeout=30)
        return r.status_code == 200
    ok, secs = wait_for(up, 60)
    print("healthy again %.2f s after the database came back" % secs)
    assert ok, "no recovery after the database came back:\n" + stack.daemon_log()[-3000:]
    assert stack.daemon_pid() == pid, "the daemon was restarted"
    r = _token_request()   # a wrong password now, but answered from the database
    assert_keystone_error(r, 401)


def test_bus_lost_and_back(stack):
    pid = stack.daemon_pid()
    stack.stop_bus()
    try:
        def down():
            r, body = health(ID, timeout=30)
            return (r, body) if r.status_code == 503 else None
        got, secs = wait_for(down, 60)
        assert got, "healthcheck still 200 with RabbitMQ stopped"
        r, body = got
        print("healthcheck 503 %.2f s after RabbitMQ stopped: %s" % (secs, body))
        assert body is not None and not component_up(body, "bus"), body
        assert component_up(body, "database"), body
        # Requests that need no bus are still served.
        assert http_session().get(ID + "/v3", timeout=10).status_code == 200
    finally:
        stack.start_bus()

    def up():
        r, _ = health(ID, timeout=30)
        return r.status_code == 200
    ok, secs = wait_for(up, 90)
    print("healthy again %.2f s after RabbitMQ came back" % secs)
    assert ok, "no reconnect to RabbitMQ:\n" + stack.daemon_log()[-3000:]
    assert stack.daemon_pid() == pid, "the daemon was restarted"


def test_pid_file(stack):
    with open(stack.pid_path) as f:
        assert int(f.read().strip()) == stack.daemon_pid()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown(stack, sig):
    rc = stack.stop_daemon(sig)
    assert rc == 0, "exit status %s after signal %d:\n%s" % (rc, sig, stack.daemon_log()[-3000:])
    assert not os.path.exists(stack.pid_path), "pid file left behind"
    secs = stack.start_daemon()
    print("serving %.3f s after spawn" % secs)


def test_restart_after_sigkill(stack):
    stack.kill_daemon()
    assert os.path.exists(stack.pid_path)   # a crash leaves the pid file
    secs = stack.start_daemon()
    print("serving %.3f s after spawn (stale pid file present)" % secs)
    with open(stack.pid_path) as f:
        assert int(f.read().strip()) == stack.daemon_pid()


def test_start_to_serving_time(stack):
    stack.stop_daemon()
    secs = stack.start_daemon()
    # The figure is the result; only a generous sanity bound is asserted.
    print("monostackd start to serving: %.3f s" % secs)
    assert secs < 30


# --------------------------------------------------------------------------
# The harness itself: the CLI through the osc fixture

def test_osc_token_issue(stack, osc):
    tok = osc("token", "issue", "-f", "json")
    assert tok["id"] and tok["project_id"] and tok["user_id"], tok


# --------------------------------------------------------------------------
# Every listener answers errors in its own service's style

def _error_style(service, r, status):
    """Check r is the error body the real service gives for status."""
    assert r.status_code == status, (service, r.status_code, r.text)
    assert_request_id(r.headers, service)
    ctype = r.headers.get("Content-Type", "")
    if service == "identity":
        err = r.json()["error"]
        assert err["code"] == status and err["title"] == http.client.responses[status], err
        assert err["message"], err
    elif service in ("compute", "volume"):
        body = r.json()
        assert len(body) == 1, body
        (fault,) = body.values()
        assert fault["code"] == status and fault["message"], body
        if status == 404:
            assert "itemNotFound" in body, body
    elif service == "network":
        err = r.json()["NeutronError"]
        assert err["type"].startswith("HTTP") and err["message"], err
    elif service == "image":
        # webob: JSON when asked for, else a small HTML page.
        if ctype.startswith("application/json"):
            body = r.json()
            assert body["code"].startswith(str(status)), body
        else:
            assert ctype.startswith("text/html") and str(status) in r.text, (ctype, r.text)
    else:  # metadata: plain text or webob HTML
        assert str(status) in r.text, r.text


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_error_style_every_listener(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    s = http_session()
    url = stack.urls[service]
    _error_style(service, s.get(url + "/no/such/path/here", timeout=10), 404)
    if service == "image":
        _error_style(service, s.get(url + "/no/such/path", timeout=10,
                                    headers={"Accept": "application/json"}), 404)
    if service in ("volume", "metadata"):
        return   # like Cinder and nova's metadata API, any method gets the version list
    r = s.delete(url + "/", timeout=10)
    _error_style(service, r, 405)
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert "GET" in allow and "DELETE" not in allow, allow


# A path on each service that needs a token (skipped while a service does
# not serve it yet).
PROTECTED = {
    "identity": "/v3/users",
    "compute": "/v2.1/servers",
    "image": "/v2/images",
    "volume": "/v3/volumes",
    "network": "/v2.0/networks",
}


@pytest.mark.parametrize("service", sorted(PROTECTED))
def test_unauthorized_every_listener(stack, service):
    if service not in stack.urls:
        pytest.skip("%s is not served by this build" % service)
    s = http_session()
    url = stack.urls[service] + PROTECTED[service]
    for headers in ({}, {"X-Auth-Token": "gAAAAAbogus-token"}):
        r = s.get(url, headers=headers, timeout=10)
        if r.status_code == 404:
            pytest.skip("%s does not serve %s yet" % (service, PROTECTED[service]))
        _error_style(service, r, 401)
        www = r.headers.get("WWW-Authenticate", "")
        assert re.match(r'^Keystone uri="http://[^"]+:5000[^"]*"$', www), www


def test_db_sync_idempotent(stack):
    """`db sync` on an up-to-date schema changes nothing and breaks nothing,
    and the recorded versions are what the running daemon accepts."""
    first = stack.manage("db", "sync").stdout
    second = stack.manage("db", "sync").stdout
    assert first == second and "schema version" in first, (first, second)
    assert "Applied database migration" not in stack.manage("db", "sync").stderr
    versions = stack.manage("db", "version").stdout
    print(versions)
    for ln in first.splitlines():
        mod, _, rest = ln.partition(": schema version ")
        assert rest and re.search(r"\b%s\b.*\b%s\b" % (re.escape(mod), rest), versions), (
            ln, versions)
    daemon_alive_and_healthy(stack)
    stack.restart_daemon()   # the daemon refuses to start on a wrong schema version


def test_sigterm_lets_request_in_flight_finish(stack):
    """SIGTERM while a request is half received: the listener stops taking
    new connections, the request in flight still gets its answer, and the
    daemon exits 0."""
    body = json.dumps(TOKEN_BODY).encode()
    sock = socket.create_connection(("127.0.0.1", 5000), timeout=30)
    try:
        sock.sendall(b"POST /v3/auth/tokens HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n"
                     b"Content-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.3)
        stack.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert stack.daemon_running(), "exited with a request in flight"
        # New connections are no longer accepted.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", 5000), timeout=2).close()
        sock.sendall(body[10:])
        data = b""
        while True:
            c = sock.recv(65536)
            if not c:
                break
            data += c
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 401"), data[:300]
    rc = stack.stop_daemon()
    assert rc == 0, "exit status %s:\n%s" % (rc, stack.daemon_log()[-3000:])


def _sanitized_build():
    try:
        with open(os.path.join(os.environ.get("MS_BUILD_DIR", ""), "CMakeCache.txt")) as f:
            return re.search(r"^MS_SANITIZE:BOOL=(ON|1|TRUE)$", f.read(), re.M) is not None
    except OSError:
        return False


def test_serving_well_under_a_second(stack):
    """Issue 2: serving well under a second after start once MariaDB and
    RabbitMQ are up. Measured from spawn until /healthcheck answers 200 (the
    harness polls every 10 ms). Sanitizer builds are several times slower."""
    bound = 5.0 if _sanitized_build() else 1.0
    best = None
    for _ in range(2):
        stack.stop_daemon()
        secs = stack.start_daemon()
        best = secs if best is None else min(best, secs)
    print("start to serving: %.3f s (bound %.1f s)" % (best, bound))
    assert best < bound
