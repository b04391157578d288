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

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd) || exit 2
DUR=${2:-10}
NS="ms-bench-$$"
SERVICES="$SRC/scripts/lib/services.sh"
WORK=$(mktemp -d /tmp/ms-bench.XXXXXX)
chmod 755 "$WORK"
DPID=""
NPID=""

if [ "$(id -u)" -ne 0 ]; then
    echo "http.sh: needs root for the network namespace" >&2
    exit 2
fi
for t in wrk nginx curl; do
    command -v "$t" >/dev/null || { echo "http.sh: $t is missing (scripts/setup.sh)" >&2; exit 2; }
done
[ -x "$BUILD/monostackd" ] || { echo "http.sh: no $BUILD/monostackd (build first)" >&2; exit 2; }

N() { ip netns exec "$NS" "$@"; }

cleanup() {
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && sleep 0.5
    [ -n "$NPID" ] && kill -QUIT "$NPID" 2>/dev/null
    N bash "$SERVICES" rabbitmq-stop "$WORK/svc" >/dev/null 2>&1
    N bash "$SERVICES" mariadb-stop "$WORK/svc" >/dev/null 2>&1
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || exit 2
N ip link set lo up

echo "==> starting MariaDB and RabbitMQ in $NS"
mkdir -p "$WORK/svc" "$WORK/state"
chmod 755 "$WORK/svc"
N bash "$SERVICES" mariadb-start "$WORK/svc" >/dev/null || exit 1
N bash "$SERVICES" rabbitmq-start "$WORK/svc" 5672 >/dev/null || exit 1
DB_PW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
N mariadb --no-defaults -S "$WORK/svc/mysql.sock" -uroot -e "
    CREATE DATABASE monostack; CREATE USER 'monostack'@'localhost' IDENTIFIED BY '$DB_PW';
    GRANT ALL ON monostack.* TO 'monostack'@'localhost';" || exit 1
cat > "$WORK/monostack.conf" <<EOF
[DEFAULT]
state_path = $WORK/state
bind_host = 127.0.0.1
log_level = INFO
log_file = $WORK/monostackd.log
[database]
connection = mysql://monostack:$DB_PW@/monostack?unix_socket=$WORK/svc/mysql.sock
[bus]
url = amqp://guest:guest@127.0.0.1:5672/
EOF
N "$BUILD/monostack-manage" --config "$WORK/monostack.conf" db sync >/dev/null || exit 1
N "$BUILD/monostack-manage" --config "$WORK/monostack.conf" fernet setup >/dev/null || exit 1

echo "==> starting monostackd"
t0=$(date +%s%N)
N setsid "$BUILD/monostackd" --config "$WORK/monostack.conf" --pid-file "$WORK/d.pid" \
    </dev/null >>"$WORK/monostackd.out" 2>&1 &
DPID=$!
serving=""
for _ in $(seq 1 2000); do
    if N curl -fsS -o /dev/null http://127.0.0.1:5000/healthcheck 2>/dev/null; then
        serving=$(( ($(date +%s%N) - t0) / 1000000 ))
        break
    fi
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.005
done
if [ -z "$serving" ]; then
    echo "http.sh: monostackd did not become healthy" >&2
    tail -n 20 "$WORK/monostackd.out" "$WORK/monostackd.log" >&2 2>/dev/null
    exit 1
fi
# $! is the shell wrapping `ip netns exec`; measure (and later stop) the daemon itself.
DPID=$(cat "$WORK/d.pid")
sleep 1
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$DPID/status")

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
NPID=$!
for _ in $(seq 1 200); do
    N curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && break
    sleep 0.02
done

# run_wrk URL CONNS -> "req/s p99"
run_wrk() {
    local threads=1
    [ "$2" -gt 1 ] && threads=2
    N wrk -t"$threads" -c"$2" -d"${DUR}s" --latency "$1" >"$WORK/wrk.out" 2>&1
    local rps p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
    local errs
    errs=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.out" | tr -s ' ' | tr '\n' ';')
    echo "${rps:-?} ${p99:-?} ${errs}"
}

echo "==> wrk, ${DUR}s per run, GET / ($size bytes) on identity (:5000) and nginx (:8080)"
declare -A R
for c in 1 64; do
    R[ms$c]=$(run_wrk http://127.0.0.1:5000/ "$c")
    R[ng$c]=$(run_wrk http://127.0.0.1:8080/ "$c")
done
rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$DPID/status")

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
echo "monostackd start to serving: ${serving} ms (spawn to first 200 on /healthcheck)"
echo "monostackd RSS idle: $((rss_idle / 1024)) MiB (${rss_idle} kB); after the runs: $((rss_after / 1024)) MiB"
echo "note: identity answers GET / with 300 Multiple Choices (as Keystone does); nginx with 200."
