# Shared bring-up of the shell benchmarks (http.sh, identity.sh): a private
# network namespace, MariaDB and RabbitMQ inside it, a monostackd with a
# fresh database, and cleanup of all of it (by pid) on exit. Sourced, with
# BENCH (the script's name, for messages) and NS set by the caller.
#
#   bench_require TOOL...         fail unless each tool is installed
#   bench_start LOG_LEVEL         backing services + db sync + fernet keys,
#                                 then monostackd; sets DPID (the daemon's
#                                 pid), SERVING_MS (start to first healthy
#                                 answer) and defines N (run in the netns)
#                                 and M (monostack-manage with the config)
#   bench_rss_kib                 the daemon's resident set now
#   bench_wrk OUT ARGS...         wrk into OUT; prints "req/s p99 errors"

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVICES="$SRC/scripts/lib/services.sh"
WORK=$(mktemp -d "/tmp/$NS.XXXXXX")
chmod 755 "$WORK"
DPID=""
BENCH_EXTRA_PIDS=()

N() { ip netns exec "$NS" "$@"; }
M() { N "$BUILD/monostack-manage" --config "$WORK/monostack.conf" "$@"; }

bench_require() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$BENCH: needs root for the network namespace" >&2
        exit 2
    fi
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "$BENCH: $t is missing (scripts/setup.sh)" >&2; exit 2; }
    done
    [ -x "$BUILD/monostackd" ] || { echo "$BENCH: no $BUILD/monostackd (build first)" >&2; exit 2; }
}

bench_cleanup() {
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && sleep 0.5
    local p
    for p in "${BENCH_EXTRA_PIDS[@]}"; do kill -QUIT "$p" 2>/dev/null; done
    N bash "$SERVICES" rabbitmq-stop "$WORK/svc" >/dev/null 2>&1
    N bash "$SERVICES" mariadb-stop "$WORK/svc" >/dev/null 2>&1
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}

bench_start() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    ip netns add "$NS" || exit 2
    N ip link set lo up

    echo "==> starting MariaDB and RabbitMQ in $NS"
    mkdir -p "$WORK/svc" "$WORK/state"
    chmod 755 "$WORK/svc"
    N bash "$SERVICES" mariadb-start "$WORK/svc" >/dev/null || exit 1
    N bash "$SERVICES" rabbitmq-start "$WORK/svc" 5672 >/dev/null || exit 1
    local db_pw
    db_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    N mariadb --no-defaults -S "$WORK/svc/mysql.sock" -uroot -e "
        CREATE DATABASE monostack; CREATE USER 'monostack'@'localhost' IDENTIFIED BY '$db_pw';
        GRANT ALL ON monostack.* TO 'monostack'@'localhost';" || exit 1
    cat > "$WORK/monostack.conf" <<CONF
[DEFAULT]
state_path = $WORK/state
bind_host = 127.0.0.1
log_level = $1
log_file = $WORK/monostackd.log
[database]
connection = mysql://monostack:$db_pw@/monostack?unix_socket=$WORK/svc/mysql.sock
[bus]
url = amqp://guest:guest@127.0.0.1:5672/
CONF
    M db sync >/dev/null || exit 1
    M fernet setup >/dev/null || exit 1

    echo "==> starting monostackd"
    local t0 wrapper
    t0=$(date +%s%N)
    N setsid "$BUILD/monostackd" --config "$WORK/monostack.conf" --pid-file "$WORK/d.pid" \
        </dev/null >>"$WORK/monostackd.out" 2>&1 &
    wrapper=$!
    SERVING_MS=""
    for _ in $(seq 1 2000); do
        if N curl -fsS -o /dev/null http://127.0.0.1:5000/healthcheck 2>/dev/null; then
            SERVING_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
            break
        fi
        kill -0 "$wrapper" 2>/dev/null || break
        sleep 0.005
    done
    if [ -z "$SERVING_MS" ]; then
        echo "$BENCH: monostackd did not become healthy" >&2
        tail -n 20 "$WORK/monostackd.out" "$WORK/monostackd.log" >&2 2>/dev/null
        DPID=$wrapper
        exit 1
    fi
    # $! is the shell wrapping `ip netns exec`: measure and stop the daemon itself.
    DPID=$(cat "$WORK/d.pid")
}

bench_rss_kib() {
    awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"
}

bench_wrk() {
    local out=$1
    shift
    N wrk "$@" >"$out" 2>&1
    local rps p99 errs
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    errs=$(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ' | tr '\n' ';')
    echo "${rps:-?} ${p99:-?} ${errs}"
}
