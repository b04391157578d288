#!/bin/bash
# HTTP benchmark of the identity listener against the physical reference:
# nginx serving a static file of the same size on the same machine, in the
# same run. wrk at concurrency 1 and 64 on both; prints requests/s and p99
# side by side, plus monostackd's idle RSS and its start-to-serving time.
#
#   tests/bench/http.sh [BUILD_DIR] [SECONDS]     (defaults: build, 10)
#
# Everything runs inside a private network namespace ms-bench-<pid>, against
# its loopback only, and is stopped (by pid) and removed at the end.
set -uo pipefail

BUILD=$(cd "${1:-$(dirname "$0")/../../build}" && pwd) || exit 2
DUR=${2:-10}
BENCH=http.sh
NS="ms-bench-$$"
# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_require wrk nginx curl
bench_start INFO
sleep 1
rss_idle=$(bench_rss_kib)

# The reference: nginx serving the identity GET / body as a static file.
mkdir -p "$WORK/www" "$WORK/nginx/logs"
N curl -s http://127.0.0.1:5000/ -o "$WORK/www/index.json"
size=$(stat -c %s "$WORK/www/index.json")
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    types { application/json json; }
    server {
        listen 127.0.0.1:8080;
        root $WORK/www;
        location / { try_files /index.json =404; }
    }
}
EOF
chmod -R a+rX "$WORK/www"
N nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
BENCH_EXTRA_PIDS+=($!)
for _ in $(seq 1 200); do
    N curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && break
    sleep 0.02
done

# run_wrk URL CONNS -> "req/s p99 notes"
run_wrk() {
    local threads=1
    [ "$2" -gt 1 ] && threads=2
    bench_wrk "$WORK/wrk.out" -t"$threads" -c"$2" -d"${DUR}s" --latency "$1"
}

echo "==> wrk, ${DUR}s per run, GET / ($size bytes) on identity (:5000) and nginx (:8080)"
declare -A R
for c in 1 64; do
    R[ms$c]=$(run_wrk http://127.0.0.1:5000/ "$c")
    R[ng$c]=$(run_wrk http://127.0.0.1:8080/ "$c")
done
rss_after=$(bench_rss_kib)

printf '\n%-28s %14s %10s   %14s %10s\n' "" "monostackd" "" "nginx static" ""
printf '%-28s %14s %10s   %14s %10s\n' "GET / ($size bytes)" "req/s" "p99" "req/s" "p99"
for c in 1 64; do
    read -r mr mp _ <<<"${R[ms$c]}"
    read -r nr np _ <<<"${R[ng$c]}"
    printf '%-28s %14s %10s   %14s %10s\n' "concurrency $c" "$mr" "$mp" "$nr" "$np"
done
for c in 1 64; do
    for k in ms ng; do
        extra=$(cut -d' ' -f3- <<<"${R[$k$c]}")
        [ -n "$extra" ] && echo "note ($k, c=$c): $extra"
    done
done
echo
echo "monostackd start to serving: ${SERVING_MS} ms (spawn to first 200 on /healthcheck)"
echo "monostackd RSS idle: $((rss_idle / 1024)) MiB (${rss_idle} kB); after the runs: $((rss_after / 1024)) MiB"
echo "note: identity answers GET / with 300 Multiple Choices (as Keystone does); nginx with 200."
