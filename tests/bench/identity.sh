#!/bin/bash
# Identity token benchmark: token issue (password method, and the token
# method that rescopes without a password hash) and token validation
# (GET /v3/auth/tokens, with and without the catalog), with wrk at
# concurrency 1 and 16; prints requests/s and p99 for each, next to the HTTP
# limit of the same listener measured in the same run (GET /, the document
# tests/bench/http.sh compares with nginx).
#
#   tests/bench/identity.sh [BUILD_DIR] [SECONDS]     (defaults: build, 10)
#
# Everything runs inside a private network namespace ms-idbench-<pid>,
# against its loopback only, and is stopped (by pid) and removed at the end.
# MS_BENCH_PERF=FILE writes a perf profile of the c=16 validation run to FILE
# (and its data to FILE.data).
# The password hash cost is the daemon's default ([identity]
# password_hash_rounds), so password issue is bound by PBKDF2 by design.
set -uo pipefail

BUILD=$(cd "${1:-$(dirname "$0")/../../build}" && pwd) || exit 2
DUR=${2:-10}
BENCH=identity.sh
NS="ms-idbench-$$"
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_require wrk curl python3
bench_start WARNING
ADMIN_PW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
M bootstrap --admin-password "$ADMIN_PW" --public-url http://127.0.0.1 >/dev/null || exit 1

# Request bodies and a token to validate.
cat > "$WORK/pw.json" <<EOF
{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
 "domain": {"name": "Default"}, "password": "$ADMIN_PW"}}},
 "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
EOF
TOKEN=$(N curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
    --data @"$WORK/pw.json" http://127.0.0.1:5000/v3/auth/tokens |
    awk 'tolower($1) == "x-subject-token:" {print $2}' | tr -d '\r')
[ -n "$TOKEN" ] || { echo "identity.sh: cannot get a token" >&2; exit 1; }
cat > "$WORK/tok.json" <<EOF
{"auth": {"identity": {"methods": ["token"], "token": {"id": "$TOKEN"}},
 "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
EOF
# wrk scripts: a POST with a body; wrk.format keeps keep-alive.
post_lua() {
    python3 - "$1" "$2" <<'PY'
import json, sys
body = open(sys.argv[1]).read()
with open(sys.argv[2], "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write('wrk.headers["Content-Type"] = "application/json"\n')
    f.write("wrk.body = %s\n" % json.dumps(body))
PY
}
post_lua "$WORK/pw.json" "$WORK/issue_pw.lua"
post_lua "$WORK/tok.json" "$WORK/issue_tok.lua"

# run_wrk NAME CONNS URL [wrk args...] -> "req/s p99 notes"
run_wrk() {
    local name=$1 c=$2 url=$3
    shift 3
    local threads=1
    [ "$c" -gt 1 ] && threads=2
    bench_wrk "$WORK/wrk-$name-$c.out" -t"$threads" -c"$c" -d"${DUR}s" --timeout 30s \
        --latency "$@" "$url"
}

H_AUTH="X-Auth-Token: $TOKEN"
H_SUBJ="X-Subject-Token: $TOKEN"
V=http://127.0.0.1:5000/v3/auth/tokens
echo "==> wrk, ${DUR}s per run"
declare -A R
for c in 1 16; do
    R[http$c]=$(run_wrk http "$c" http://127.0.0.1:5000/)
    if [ -n "${MS_BENCH_PERF:-}" ] && [ "$c" -gt 1 ]; then
        # MS_BENCH_PERF=FILE: profile the daemon during this run, report to FILE
        perf record -q --call-graph dwarf,16384 -F 499 -p "$DPID" -o "$MS_BENCH_PERF.data" -- sleep "$DUR" >/dev/null 2>&1 &
        PERFPID=$!
    fi
    R[val$c]=$(run_wrk val "$c" "$V" -H "$H_AUTH" -H "$H_SUBJ")
    if [ -n "${PERFPID:-}" ]; then
        wait "$PERFPID"
        perf report -i "$MS_BENCH_PERF.data" --stdio --children --percent-limit 2 \
            >"$MS_BENCH_PERF" 2>/dev/null
        PERFPID=""
    fi
    R[valnc$c]=$(run_wrk valnc "$c" "$V?nocatalog" -H "$H_AUTH" -H "$H_SUBJ")
    R[isstok$c]=$(run_wrk isstok "$c" "$V" -s "$WORK/issue_tok.lua")
    R[isspw$c]=$(run_wrk isspw "$c" "$V" -s "$WORK/issue_pw.lua")
done

label() {
    case $1 in
    http) echo "HTTP limit: GET / (300)" ;;
    val) echo "validate GET /v3/auth/tokens" ;;
    valnc) echo "validate ?nocatalog" ;;
    isstok) echo "issue, token method (rescope)" ;;
    isspw) echo "issue, password method" ;;
    esac
}
printf '\n%-34s %12s %10s   %12s %10s\n' "" "c=1 req/s" "p99" "c=16 req/s" "p99"
for k in http val valnc isstok isspw; do
    read -r r1 p1 _ <<<"${R[${k}1]}"
    read -r r16 p16 _ <<<"${R[${k}16]}"
    printf '%-34s %12s %10s   %12s %10s\n' "$(label $k)" "$r1" "$p1" "$r16" "$p16"
done
for k in http val valnc isstok isspw; do
    for c in 1 16; do
        extra=$(cut -d' ' -f3- <<<"${R[$k$c]}")
        [ -n "$extra" ] && echo "note ($k, c=$c): $extra"
    done
done
echo
echo "note: a non-2xx note on the HTTP limit row is expected (GET / answers 300, as Keystone)."
rss=$(bench_rss_kib)
echo "monostackd RSS after the runs: $((rss / 1024)) MiB"
