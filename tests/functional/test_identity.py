"""Identity (issue 3): Keystone v3 and v2.0 tokens driven by the openstack CLI
and by raw HTTP against a running daemon.

Covers token issue/validate/revoke, the resources (projects, users, groups,
roles, domains, regions, services, endpoints), role assignments, the catalog,
application credentials (also as an auth method of the CLI), the isolation
between projects and the admin boundary, expired/revoked/disabled tokens, the
v3 token body, rescoping, /v3/auth/{projects,domains,system,catalog}, v2.0
tokens and fernet key rotation."""
import json
import os
import struct
import subprocess
import time
import uuid

import pytest

from conftest import http_session

ID = "http://127.0.0.1:5000"
V3 = ID + "/v3"


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def password_auth(user, password, project=None, domain=None, system=False,
                  user_domain="Default"):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": user_domain}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    elif domain:
        body["auth"]["scope"] = {"domain": {"name": domain}}
    elif system:
        body["auth"]["scope"] = {"system": {"all": True}}
    return body


def issue(body, query=""):
    return http_session().post(V3 + "/auth/tokens" + query, json=body, timeout=30)


def get_token(user, password, **scope):
    r = issue(password_auth(user, password, **scope))
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def validate(admin_token, subject, method="GET", query=""):
    s = http_session()
    return s.request(method, V3 + "/auth/tokens" + query,
                     headers={"X-Auth-Token": admin_token, "X-Subject-Token": subject},
                     timeout=30)


def api(method, path, token, **kw):
    headers = kw.pop("headers", {})
    headers["X-Auth-Token"] = token
    return http_session().request(method, V3 + path, headers=headers, timeout=30, **kw)


def assert_401(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.json()["error"]["code"] == 401
    assert r.headers.get("WWW-Authenticate", "").startswith("Keystone uri=")


@pytest.fixture(scope="module")
def tenants(stack, osc):
    """Two projects A and B, each with a member user (and a reader in A)."""
    d = {"pw": "Secret-" + uuid.uuid4().hex[:10]}
    for k in ("a", "b"):
        d["proj_" + k] = uniq("proj" + k)
        d["user_" + k] = uniq("user" + k)
        osc("project", "create", "--domain", "default", d["proj_" + k])
        osc("user", "create", "--domain", "default", "--password", d["pw"], d["user_" + k])
        osc("role", "add", "--project", d["proj_" + k], "--user", d["user_" + k], "member")
        d["proj_%s_id" % k] = osc("project", "show", d["proj_" + k], "-f", "json")["id"]
        d["user_%s_id" % k] = osc("user", "show", d["user_" + k], "-f", "json")["id"]
    return d


def user_env(stack, user, password, project):
    return stack.env(user=user, password=password, project=project)


# ---- tokens -------------------------------------------------------------

def test_identity_osc_token_issue_and_revoke(stack, osc, admin_token):
    tok = osc("token", "issue", "-f", "json")
    assert set(("id", "expires", "project_id", "user_id")) <= set(tok), tok
    assert validate(admin_token, tok["id"]).status_code == 200
    osc("token", "revoke", tok["id"])
    r = validate(admin_token, tok["id"])
    assert r.status_code == 404, r.text
    # and it no longer authenticates anything
    assert_401(api("GET", "/auth/catalog", tok["id"]))


def test_identity_v3_token_body(stack):
    before = time.time()
    r = issue(password_auth("admin", stack.admin_password, project="admin"))
    assert r.status_code == 201, r.text
    subject = r.headers["X-Subject-Token"]
    assert subject and len(subject) > 100
    assert r.headers.get("x-openstack-request-id", "").startswith("req-")
    t = r.json()["token"]
    for field in ("methods", "user", "project", "roles", "catalog", "expires_at",
                  "issued_at", "audit_ids"):
        assert field in t, (field, t)
    assert t["methods"] == ["password"]
    assert t["user"]["name"] == "admin"
    assert t["user"]["domain"] == {"id": "default", "name": "Default"}
    assert t["project"]["name"] == "admin"
    assert t["project"]["domain"]["id"] == "default"
    assert {"admin", "member", "reader"} <= {x["name"] for x in t["roles"]}
    assert all(set(x) >= {"id", "name"} for x in t["roles"])
    assert len(t["audit_ids"]) == 1 and len(t["audit_ids"][0]) == 22
    assert t["expires_at"].endswith("Z") and t["issued_at"].endswith("Z")
    types = {s["type"] for s in t["catalog"]}
    assert "identity" in types
    ident = [s for s in t["catalog"] if s["type"] == "identity"][0]
    assert ident["endpoints"] and all(
        {"id", "interface", "region", "region_id", "url"} <= set(e) for e in ident["endpoints"])
    from datetime import datetime
    exp = datetime.strptime(t["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    iss = datetime.strptime(t["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert 3500 < (exp - iss).total_seconds() <= 3600
    assert abs(iss.timestamp() - time.mktime(time.gmtime(before))) < 120


def test_identity_validate_repeatable(stack, admin_token):
    subject = get_token("admin", stack.admin_password, project="admin")
    bodies = [validate(admin_token, subject).json() for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    nocat = [validate(admin_token, subject, query="?nocatalog").json() for _ in range(2)]
    assert nocat[0] == nocat[1]
    assert "catalog" not in nocat[0]["token"] and bodies[0]["token"]["catalog"]
    full = dict(bodies[0]["token"])
    del full["catalog"]
    assert full == nocat[0]["token"]
    assert validate(admin_token, subject, "HEAD").content == b""


def test_identity_nocatalog(stack, admin_token):
    r = issue(password_auth("admin", stack.admin_password, project="admin"), "?nocatalog")
    assert r.status_code == 201
    assert "catalog" not in r.json()["token"]
    subject = r.headers["X-Subject-Token"]
    r = validate(admin_token, subject, query="?nocatalog")
    assert r.status_code == 200
    assert "catalog" not in r.json()["token"]
    r = validate(admin_token, subject)
    assert r.status_code == 200 and r.json()["token"]["catalog"]


def test_identity_head_get_delete_tokens(stack, admin_token):
    subject = get_token("admin", stack.admin_password, project="admin")
    r = validate(admin_token, subject, "HEAD")
    assert r.status_code == 200 and not r.content
    assert r.headers["X-Subject-Token"] == subject
    r = validate(admin_token, subject)
    assert r.status_code == 200 and r.headers["X-Subject-Token"] == subject
    assert r.json()["token"]["project"]["name"] == "admin"
    r = validate(admin_token, subject, "DELETE")
    assert r.status_code == 204
    assert validate(admin_token, subject, "HEAD").status_code == 404
    assert validate(admin_token, subject).status_code == 404
    # deleting again: already revoked
    assert validate(admin_token, subject, "DELETE").status_code == 404
    # the admin token itself is unaffected
    assert validate(admin_token, admin_token).status_code == 200
    # garbage subject token
    assert validate(admin_token, "not-a-token").status_code == 404
    # missing X-Subject-Token
    r = api("GET", "/auth/tokens", admin_token)
    assert r.status_code in (400, 404), r.text


def test_identity_wrong_password_401(stack):
    r = issue(password_auth("admin", "wrong-" + stack.admin_password, project="admin"))
    assert_401(r)
    assert "X-Subject-Token" not in r.headers
    r = issue(password_auth("no-such-user-" + uuid.uuid4().hex, "x"))
    assert_401(r)


def test_identity_bad_token_refused(stack):
    for tok in ("garbage", "gAAAAAB" + "A" * 150, ""):
        r = api("GET", "/projects", tok)
        assert_401(r)


def test_identity_unscoped_and_rescope(stack, admin_token):
    r = issue(password_auth("admin", stack.admin_password))
    assert r.status_code == 201, r.text
    unscoped = r.headers["X-Subject-Token"]
    t = r.json()["token"]
    assert "project" not in t and "roles" not in t and "catalog" not in t
    # rescope with the token method
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                     "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    r = issue(body)
    assert r.status_code == 201, r.text
    t2 = r.json()["token"]
    assert t2["project"]["name"] == "admin"
    assert "token" in t2["methods"] and "password" in t2["methods"]
    assert t2["expires_at"] == t["expires_at"]       # a rescoped token keeps the expiry
    assert t2["audit_ids"][1] == t["audit_ids"][0]  # and carries the chain's audit id
    assert validate(admin_token, r.headers["X-Subject-Token"]).status_code == 200
    # as in keystone, DELETE revokes by the token's own audit id: revoking the
    # rescoped token leaves its parent valid, and the other way round
    scoped = r.headers["X-Subject-Token"]
    assert validate(admin_token, scoped, "DELETE").status_code == 204
    assert validate(admin_token, scoped).status_code == 404
    assert validate(admin_token, unscoped).status_code == 200
    # a revoked token cannot be used to get a rescoped one
    body["auth"]["identity"]["token"]["id"] = scoped
    assert_401(issue(body))


def test_identity_auth_projects_domains_system(stack, tenants):
    tok = get_token(tenants["user_a"], tenants["pw"])
    r = api("GET", "/auth/projects", tok)
    assert r.status_code == 200, r.text
    names = {p["name"] for p in r.json()["projects"]}
    assert names == {tenants["proj_a"]}
    r = api("GET", "/auth/domains", tok)
    assert r.status_code == 200 and r.json()["domains"] == []
    r = api("GET", "/auth/system", tok)
    assert r.status_code == 200 and r.json()["system"] == []
    admin_unscoped = get_token("admin", stack.admin_password)
    r = api("GET", "/auth/projects", admin_unscoped)
    assert "admin" in {p["name"] for p in r.json()["projects"]}
    r = api("GET", "/auth/system", admin_unscoped)
    assert r.json()["system"] == [{"all": True}]
    r = api("GET", "/auth/catalog", get_token("admin", stack.admin_password, project="admin"))
    assert r.status_code == 200 and "identity" in {s["type"] for s in r.json()["catalog"]}


def test_identity_system_and_domain_scope(stack, admin_token):
    r = issue(password_auth("admin", stack.admin_password, system=True))
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert t["system"] == {"all": True} and "admin" in {x["name"] for x in t["roles"]}
    assert validate(admin_token, r.headers["X-Subject-Token"]).status_code == 200
    # admin has no role on the Default domain: a domain-scoped token is refused
    r = issue(password_auth("admin", stack.admin_password, domain="Default"))
    assert r.status_code == 401, r.text


def test_identity_domain_crud(stack, osc):
    name = uniq("dom")
    d = osc("domain", "create", "--description", "first", name, "-f", "json")
    assert d["name"] == name and d["enabled"] is True
    assert name in {x["Name"] for x in osc("domain", "list", "-f", "json")}
    osc("domain", "set", "--description", "second", name)
    assert osc("domain", "show", name, "-f", "json")["description"] == "second"
    p = osc("domain", "delete", name, check=False)
    assert p.returncode != 0                       # an enabled domain cannot be deleted
    osc("domain", "set", "--disable", name)
    osc("domain", "delete", name)
    assert osc("domain", "show", name, check=False).returncode != 0


def test_identity_domain_scoped_token(stack, osc, admin_token):
    dom = uniq("dom")
    osc("domain", "create", dom)
    user = uniq("duser")
    osc("user", "create", "--domain", dom, "--password", "pw-1234", user)
    osc("role", "add", "--domain", dom, "--user", user, "--user-domain", dom, "admin")
    r = issue(password_auth(user, "pw-1234", domain=dom, user_domain=dom))
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert t["domain"]["name"] == dom and "admin" in {x["name"] for x in t["roles"]}
    r = api("GET", "/auth/domains", get_token(user, "pw-1234", user_domain=dom))
    assert {d["name"] for d in r.json()["domains"]} == {dom}
    osc("domain", "set", "--disable", dom)
    assert validate(admin_token, r.request.headers["X-Auth-Token"]).status_code == 404
    osc("domain", "delete", dom)


# ---- resources through the CLI -----------------------------------------

def test_identity_project_crud(stack, osc):
    name = uniq("proj")
    p = osc("project", "create", "--description", "d1", name, "-f", "json")
    assert p["name"] == name and p["enabled"] is True and p["domain_id"] == "default"
    assert name in {x["Name"] for x in osc("project", "list", "-f", "json")}
    osc("project", "set", "--description", "d2", "--name", name + "x", name)
    s = osc("project", "show", name + "x", "-f", "json")
    assert s["description"] == "d2" and s["id"] == p["id"]
    osc("project", "set", "--disable", name + "x")
    assert osc("project", "show", p["id"], "-f", "json")["enabled"] is False
    osc("project", "delete", p["id"])
    r = osc("project", "show", p["id"], check=False)
    assert r.returncode != 0 and "No project" in r.stderr or "404" in r.stderr
    # duplicate names conflict
    osc("project", "create", name)
    r = osc("project", "create", name, check=False)
    assert r.returncode != 0 and "409" in r.stderr
    osc("project", "delete", name)


def test_identity_user_crud(stack, osc, tenants):
    name = uniq("user")
    u = osc("user", "create", "--password", "pw-abc", "--email", "a@example.com",
            "--project", tenants["proj_a"], name, "-f", "json")
    assert u["name"] == name and u["enabled"] is True
    assert u["default_project_id"] == tenants["proj_a_id"]
    assert "password" not in u
    assert name in {x["Name"] for x in osc("user", "list", "-f", "json")}
    osc("user", "set", "--email", "b@example.com", name)
    s = osc("user", "show", name, "-f", "json")
    assert s["email"] == "b@example.com" and s["id"] == u["id"]
    # the new password works, the old one not
    osc("user", "set", "--password", "pw-new", name)
    assert issue(password_auth(name, "pw-abc")).status_code == 401
    assert issue(password_auth(name, "pw-new")).status_code == 201
    osc("user", "delete", name)
    assert osc("user", "show", u["id"], check=False).returncode != 0
    assert issue(password_auth(name, "pw-new")).status_code == 401


def test_identity_group_crud(stack, osc, tenants):
    name = uniq("grp")
    g = osc("group", "create", "--description", "g1", name, "-f", "json")
    assert g["name"] == name
    assert name in {x["Name"] for x in osc("group", "list", "-f", "json")}
    osc("group", "set", "--description", "g2", name)
    assert osc("group", "show", name, "-f", "json")["description"] == "g2"
    osc("group", "add", "user", name, tenants["user_b"])
    out = osc("group", "contains", "user", name, tenants["user_b"])
    assert "%s in group %s" % (tenants["user_b"], name) in out, out
    users = osc("user", "list", "--group", name, "-f", "json")
    assert {x["Name"] for x in users} == {tenants["user_b"]}
    # a role given to the group reaches its member (effective assignments)
    osc("role", "add", "--project", tenants["proj_a"], "--group", name, "reader")
    eff = osc("role", "assignment", "list", "--effective", "--names", "--user",
              tenants["user_b"], "-f", "json")
    assert any(a["Project"].startswith(tenants["proj_a"]) and a["Role"] == "reader"
               for a in eff), eff
    tok = get_token(tenants["user_b"], tenants["pw"], project=tenants["proj_a"])
    assert tok
    osc("role", "remove", "--project", tenants["proj_a"], "--group", name, "reader")
    assert issue(password_auth(tenants["user_b"], tenants["pw"],
                               project=tenants["proj_a"])).status_code == 401
    osc("group", "remove", "user", name, tenants["user_b"])
    assert osc("user", "list", "--group", name, "-f", "json") == []
    osc("group", "delete", name)
    assert osc("group", "show", name, check=False).returncode != 0


def test_identity_role_crud_and_assignments(stack, osc, tenants):
    name = uniq("role")
    r = osc("role", "create", name, "-f", "json")
    assert r["name"] == name
    assert name in {x["Name"] for x in osc("role", "list", "-f", "json")}
    osc("role", "set", "--description", "rd", name)
    assert osc("role", "show", name, "-f", "json")["description"] == "rd"
    osc("role", "add", "--project", tenants["proj_b"], "--user", tenants["user_b"], name)
    rows = osc("role", "assignment", "list", "--names", "--project", tenants["proj_b"],
               "-f", "json")
    assert any(a["Role"] == name and a["User"] == tenants["user_b"] + "@Default" and
               a["Project"] == tenants["proj_b"] + "@Default" for a in rows), rows
    rows = osc("role", "assignment", "list", "--user", tenants["user_b_id"], "-f", "json")
    assert {a["Role"] for a in rows} >= {r["id"]}
    # --effective expands implied roles: member implies reader
    eff = osc("role", "assignment", "list", "--effective", "--names", "--user",
              tenants["user_b"], "--project", tenants["proj_b"], "-f", "json")
    assert {"member", "reader", name} <= {a["Role"] for a in eff}, eff
    osc("role", "remove", "--project", tenants["proj_b"], "--user", tenants["user_b"], name)
    rows = osc("role", "assignment", "list", "--names", "--project", tenants["proj_b"],
               "-f", "json")
    assert not any(a["Role"] == name for a in rows)
    osc("role", "delete", name)
    assert osc("role", "show", name, check=False).returncode != 0


def test_identity_catalog_list(stack, osc):
    cat = osc("catalog", "list", "-f", "json")
    ident = [c for c in cat if c["Type"] == "identity"]
    assert ident, cat
    eps = ident[0]["Endpoints"]
    text = json.dumps(eps)
    assert "http://127.0.0.1:5000" in text and "RegionOne" in text
    out = osc("catalog", "show", "identity", "-f", "json")
    assert out["type"] == "identity"


def test_identity_region_service_endpoint_crud(stack, osc, admin_token):
    region = uniq("Region")
    osc("region", "create", "--description", "r1", region)
    assert region in {x["Region"] for x in osc("region", "list", "-f", "json")}
    osc("region", "set", "--description", "r2", region)
    assert osc("region", "show", region, "-f", "json")["description"] == "r2"

    sname = uniq("svc")
    svc = osc("service", "create", "--name", sname, "--description", "s1", "widget",
              "-f", "json")
    assert svc["type"] == "widget" and svc["enabled"] is True
    assert sname in {x["Name"] for x in osc("service", "list", "-f", "json")}
    osc("service", "set", "--description", "s2", svc["id"])
    assert osc("service", "show", svc["id"], "-f", "json")["description"] == "s2"

    # a token validated (and so cached, body included) before the change...
    # (as in keystone, a service without endpoints is listed with none)
    seen = get_token("admin", stack.admin_password, project="admin")

    def widget_urls():
        cat = validate(admin_token, seen).json()["token"]["catalog"]
        return [e["url"] for s in cat if s["type"] == "widget" for e in s["endpoints"]]
    assert widget_urls() == []
    ep = osc("endpoint", "create", "--region", region, svc["id"], "public",
             "http://127.0.0.1:7777/w/$(project_id)s", "-f", "json")
    assert ep["interface"] == "public" and ep["region"] == region
    lst = osc("endpoint", "list", "--service", svc["id"], "-f", "json")
    assert [e["ID"] for e in lst] == [ep["id"]]
    osc("endpoint", "set", "--url", "http://127.0.0.1:7778/w/$(project_id)s", ep["id"])
    assert osc("endpoint", "show", ep["id"], "-f", "json")["url"].startswith(
        "http://127.0.0.1:7778/")
    # it is in the catalog of a new token, with the project id substituted
    r = validate(admin_token, get_token("admin", stack.admin_password, project="admin"))
    cat = r.json()["token"]["catalog"]
    w = [s for s in cat if s["type"] == "widget"]
    assert w and w[0]["endpoints"][0]["url"] == (
        "http://127.0.0.1:7778/w/" + r.json()["token"]["project"]["id"])
    # ...shows the new endpoint at once when validated again
    assert widget_urls() == ["http://127.0.0.1:7778/w/" + r.json()["token"]["project"]["id"]]
    osc("endpoint", "delete", ep["id"])
    assert osc("endpoint", "show", ep["id"], check=False).returncode != 0
    assert widget_urls() == []
    osc("service", "delete", svc["id"])
    assert osc("service", "show", svc["id"], check=False).returncode != 0
    osc("region", "delete", region)
    # (`region show` falls back to listing, which has no name filter in
    # keystone either, so ask for the id directly)
    assert api("GET", "/regions/" + region, admin_token).status_code == 404
    assert region not in {x["Region"] for x in osc("region", "list", "-f", "json")}


# ---- application credentials --------------------------------------------

def test_identity_application_credential(stack, osc, tenants):
    env = user_env(stack, tenants["user_a"], tenants["pw"], tenants["proj_a"])
    name = uniq("ac")
    ac = osc("application", "credential", "create", name, "-f", "json", env=env)
    assert ac["name"] == name and ac["secret"] and ac["project_id"] == tenants["proj_a_id"]
    assert name in {x["Name"] for x in
                    osc("application", "credential", "list", "-f", "json", env=env)}
    shown = osc("application", "credential", "show", name, "-f", "json", env=env)
    assert "secret" not in shown or not shown["secret"]
    acenv = {
        "OS_AUTH_URL": V3, "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_APPLICATION_CREDENTIAL_ID": ac["id"],
        "OS_APPLICATION_CREDENTIAL_SECRET": ac["secret"],
        "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne",
        "OS_INTERFACE": "public",
    }
    tok = osc("token", "issue", "-f", "json", env=acenv)
    assert tok["project_id"] == tenants["proj_a_id"] and tok["user_id"] == tenants["user_a_id"]
    # the token says how it was obtained
    r = validate(tok["id"], tok["id"])
    assert r.status_code == 200, r.text
    t = r.json()["token"]
    assert t["methods"] == ["application_credential"]
    assert t["application_credential"]["id"] == ac["id"]
    # a wrong secret is refused
    bad = dict(acenv, OS_APPLICATION_CREDENTIAL_SECRET="nope")
    assert osc("token", "issue", env=bad, check=False).returncode != 0
    # a restricted app credential cannot create another one
    r = api("POST", "/users/%s/application_credentials" % tenants["user_a_id"], tok["id"],
            json={"application_credential": {"name": uniq("ac2")}})
    assert r.status_code == 403, r.text
    osc("application", "credential", "delete", name, env=env)
    # deleting it invalidates its tokens and the credential
    assert api("GET", "/auth/catalog", tok["id"]).status_code == 401
    assert osc("token", "issue", env=acenv, check=False).returncode != 0


# ---- isolation and the admin boundary -----------------------------------

def test_identity_member_isolation(stack, osc, tenants):
    tok_a = get_token(tenants["user_a"], tenants["pw"], project=tenants["proj_a"])
    # user A cannot scope to B
    assert issue(password_auth(tenants["user_a"], tenants["pw"],
                               project=tenants["proj_b"])).status_code == 401
    # sees only its project
    r = api("GET", "/projects/%s" % tenants["proj_a_id"], tok_a)
    assert r.status_code == 200
    r = api("GET", "/projects/%s" % tenants["proj_b_id"], tok_a)
    assert r.status_code == 403, r.text
    r = api("GET", "/users/%s/projects" % tenants["user_a_id"], tok_a)
    assert r.status_code == 200
    assert {p["id"] for p in r.json()["projects"]} == {tenants["proj_a_id"]}
    r = api("GET", "/users/%s/projects" % tenants["user_b_id"], tok_a)
    assert r.status_code == 403
    r = api("GET", "/users/%s" % tenants["user_b_id"], tok_a)
    assert r.status_code == 403
    r = api("GET", "/role_assignments?scope.project.id=%s" % tenants["proj_b_id"], tok_a)
    assert r.status_code == 403 or r.json()["role_assignments"] == [], r.text
    # cannot touch B
    r = api("PATCH", "/projects/%s" % tenants["proj_b_id"], tok_a,
            json={"project": {"description": "pwned"}})
    assert r.status_code == 403
    r = api("DELETE", "/projects/%s" % tenants["proj_b_id"], tok_a)
    assert r.status_code == 403
    r = api("PUT", "/projects/%s/users/%s/roles/%s" % (
        tenants["proj_b_id"], tenants["user_a_id"],
        osc("role", "show", "member", "-f", "json")["id"]), tok_a)
    assert r.status_code == 403
    r = api("POST", "/users/%s/application_credentials" % tenants["user_b_id"], tok_a,
            json={"application_credential": {"name": "x"}})
    assert r.status_code == 403
    # no admin actions
    env = user_env(stack, tenants["user_a"], tenants["pw"], tenants["proj_a"])
    for args in (("project", "create", uniq("p")), ("user", "create", uniq("u")),
                 ("role", "create", uniq("r")), ("domain", "create", uniq("d")),
                 ("user", "list"), ("group", "list"),
                 ("role", "add", "--project", tenants["proj_a"], "--user",
                  tenants["user_a"], "admin"),
                 ("service", "create", "--name", uniq("s"), "x"),
                 ("region", "create", uniq("R"))):
        p = osc(*args, env=env, check=False)
        assert p.returncode != 0, args
        assert "403" in p.stderr or "Forbidden" in p.stderr or "not authorized" in p.stderr, \
            (args, p.stderr)
    r = api("PATCH", "/users/%s" % tenants["user_b_id"], tok_a,
            json={"user": {"enabled": False}})
    assert r.status_code == 403
    # B still intact
    s = osc("project", "show", tenants["proj_b_id"], "-f", "json")
    assert s.get("description", "") != "pwned"
    # but A can read its own project and its own token
    p = osc("project", "show", tenants["proj_a_id"], "-f", "json", env=env)
    assert p["name"] == tenants["proj_a"]
    assert osc("token", "issue", "-f", "json", env=env)["project_id"] == tenants["proj_a_id"]


# ---- revocation, expiry, disabled users ---------------------------------

def test_identity_revoked_token_refused(stack, tenants, admin_token):
    tok = get_token(tenants["user_a"], tenants["pw"], project=tenants["proj_a"])
    assert api("GET", "/auth/catalog", tok).status_code == 200
    assert validate(tok, tok, "DELETE").status_code == 204   # a user can revoke its own
    assert_401(api("GET", "/auth/catalog", tok))
    assert validate(admin_token, tok).status_code == 404
    # other tokens of the same user still work
    tok2 = get_token(tenants["user_a"], tenants["pw"], project=tenants["proj_a"])
    assert api("GET", "/auth/catalog", tok2).status_code == 200


def _fernet_keys(stack):
    d = os.path.join(stack.state_dir, "fernet-keys")
    keys = {}
    for f in os.listdir(d):
        with open(os.path.join(d, f)) as fh:
            keys[int(f)] = fh.read().strip()
    return d, keys


def _forge(stack, user_id, project_id, issued, expires):
    """A token sealed with the daemon's own primary key, in its own payload
    layout (token_format.c), with chosen issue and expiry times."""
    from cryptography.fernet import Fernet
    _, keys = _fernet_keys(stack)
    key = keys[max(keys)]

    def s(x):
        b = x.encode()
        return bytes([len(b)]) + b
    payload = (bytes([1, 1, 1]) + s(user_id) + s(project_id) + s("") +
               struct.pack(">q", int(issued * 1e6)) + struct.pack(">q", int(expires)) +
               bytes([1]) + os.urandom(16))
    tok = Fernet(key.encode()).encrypt_at_time(payload, int(issued))
    return tok.decode().rstrip("=")


def test_identity_expired_token_refused(stack, tenants, admin_token):
    now = time.time()
    # control: a token forged the same way but still valid is accepted, so the
    # refusal below is about the expiry and nothing else
    good = _forge(stack, tenants["user_a_id"], tenants["proj_a_id"], now - 10, now + 600)
    assert api("GET", "/auth/catalog", good).status_code == 200
    assert validate(admin_token, good).status_code == 200
    expired = _forge(stack, tenants["user_a_id"], tenants["proj_a_id"], now - 7200,
                     now - 3600)
    assert_401(api("GET", "/auth/catalog", expired))
    assert validate(admin_token, expired).status_code == 404
    # Keystone's allow_expired lets a service validate it within the window
    r = validate(admin_token, expired, query="?allow_expired=1")
    assert r.status_code == 200, r.text
    # a token that expires in two seconds works now and is refused after
    short = _forge(stack, tenants["user_a_id"], tenants["proj_a_id"], now, now + 2)
    assert api("GET", "/auth/catalog", short).status_code == 200
    time.sleep(3.5)
    assert_401(api("GET", "/auth/catalog", short))
    # a token signed with a key that is not ours is refused
    from cryptography.fernet import Fernet
    alien = Fernet(Fernet.generate_key()).encrypt(b"\x01\x01\x01").decode()
    assert_401(api("GET", "/auth/catalog", alien))


def test_identity_disable_user_invalidates_tokens(stack, osc, admin_token):
    name = uniq("dis")
    osc("user", "create", "--password", "pw-dis", name)
    proj = uniq("disp")
    osc("project", "create", proj)
    osc("role", "add", "--project", proj, "--user", name, "member")
    tok = get_token(name, "pw-dis", project=proj)
    assert api("GET", "/auth/catalog", tok).status_code == 200   # now cached
    osc("user", "set", "--disable", name)
    assert_401(api("GET", "/auth/catalog", tok))
    assert validate(admin_token, tok).status_code == 404
    assert issue(password_auth(name, "pw-dis", project=proj)).status_code == 401
    osc("user", "set", "--enable", name)
    # tokens issued before the disable stay dead
    assert_401(api("GET", "/auth/catalog", tok))
    assert issue(password_auth(name, "pw-dis", project=proj)).status_code == 201
    # removing the role also kills a scoped token at once
    tok = get_token(name, "pw-dis", project=proj)
    assert api("GET", "/auth/catalog", tok).status_code == 200
    assert validate(admin_token, tok).status_code == 200
    osc("role", "remove", "--project", proj, "--user", name, "member")
    assert_401(api("GET", "/auth/catalog", tok))
    assert validate(admin_token, tok).status_code == 404
    osc("user", "delete", name)
    osc("project", "delete", proj)


def test_identity_password_change_self(stack, osc):
    name = uniq("pwc")
    u = osc("user", "create", "--password", "old-pw", name, "-f", "json")
    tok = get_token(name, "old-pw")
    r = http_session().post(V3 + "/users/%s/password" % u["id"], timeout=30,
                            headers={"X-Auth-Token": tok},
                            json={"user": {"password": "new-pw",
                                           "original_password": "wrong"}})
    assert r.status_code == 401
    r = http_session().post(V3 + "/users/%s/password" % u["id"], timeout=30,
                            headers={"X-Auth-Token": tok},
                            json={"user": {"password": "new-pw",
                                           "original_password": "old-pw"}})
    assert r.status_code == 204, r.text
    assert issue(password_auth(name, "old-pw")).status_code == 401
    assert issue(password_auth(name, "new-pw")).status_code == 201
    osc("user", "delete", name)


# ---- v2.0 ---------------------------------------------------------------

def test_identity_v2_token_curl(stack, admin_token):
    body = json.dumps({"auth": {"passwordCredentials": {
        "username": "admin", "password": stack.admin_password}, "tenantName": "admin"}})
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "-w", "\n%{http_code}",
                        "-H", "Content-Type: application/json", "-d", body,
                        ID + "/v2.0/tokens"], capture_output=True, text=True, timeout=30)
    out, code = p.stdout.rsplit("\n", 1)
    assert code == "200", p.stdout + p.stderr
    access = json.loads(out)["access"]
    tok = access["token"]
    assert tok["id"] and tok["tenant"]["name"] == "admin" and tok["expires"]
    assert access["user"]["name"] == "admin"
    assert {"admin"} <= {r["name"] for r in access["user"]["roles"]}
    assert "identity" in {s["type"] for s in access["serviceCatalog"]}
    # the v2.0 token is a token of ours: usable on v3
    assert validate(admin_token, tok["id"]).status_code == 200
    assert api("GET", "/auth/catalog", tok["id"]).status_code == 200
    # a wrong password is 401
    bad = json.dumps({"auth": {"passwordCredentials": {"username": "admin",
                                                       "password": "nope"}}})
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w",
                        "%{http_code}", "-H", "Content-Type: application/json", "-d", bad,
                        ID + "/v2.0/tokens"], capture_output=True, text=True, timeout=30)
    assert p.stdout == "401"


# ---- fernet rotation ----------------------------------------------------

def test_identity_fernet_rotate(stack, admin_token):
    old = get_token("admin", stack.admin_password, project="admin")
    d, before = _fernet_keys(stack)
    stack.manage("fernet", "rotate")
    _, after = _fernet_keys(stack)
    assert max(after) == max(before) + 1
    # the old token still validates, also when not cached
    assert validate(admin_token, old).status_code == 200
    new = get_token("admin", stack.admin_password, project="admin")
    assert validate(admin_token, new).status_code == 200
    # new tokens are sealed with the new primary key (staged key 0 promoted)
    from cryptography.fernet import Fernet, InvalidToken
    pad = "=" * (-len(new) % 4)
    primary = after[max(after)]
    assert primary == before[0]
    Fernet(primary.encode()).decrypt(new + pad)
    with pytest.raises(InvalidToken):
        Fernet(before[max(before)].encode()).decrypt(new + pad)
    # after a restart (keys read fresh from disk) both still validate
    stack.restart_daemon()
    assert validate(new, old).status_code == 200
    assert validate(old, new).status_code == 200


def test_identity_token_expiration_option(stack, admin_token):
    """[identity] token_expiration sets the lifetime of new tokens."""
    from datetime import datetime
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    try:
        stack.write_config(overrides={"identity": {"token_expiration": "60"}})
        stack.restart_daemon()
        r = issue(password_auth("admin", stack.admin_password, project="admin"))
        assert r.status_code == 201, r.text
        t = r.json()["token"]
        life = (datetime.strptime(t["expires_at"], fmt) -
                datetime.strptime(t["issued_at"], fmt)).total_seconds()
        assert 59 <= life <= 60, t
        short = r.headers["X-Subject-Token"]
        assert validate(short, short).status_code == 200
    finally:
        stack.write_config()
        stack.restart_daemon()
    # tokens keep the expiry they were issued with
    assert validate(admin_token, short).json()["token"]["expires_at"] == t["expires_at"]
