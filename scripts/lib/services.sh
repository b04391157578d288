#!/bin/bash
# Private backing services (MariaDB, RabbitMQ) under one directory, started by
# hand as root without systemd, following the recipes in PLATFORM.md §2.
# Used by scripts/quickstart.sh, tests/backing.sh and the functional tier.
#
#   services.sh mariadb-start DIR        datadir DIR/mysql, socket DIR/mysql.sock
#   services.sh mariadb-stop DIR
#   services.sh rabbitmq-start DIR PORT  AMQP on 127.0.0.1:PORT (guest/guest);
#                                        exit 3 when another broker holds PORT
#   services.sh rabbitmq-stop DIR
#   services.sh status DIR
#
# It can also be sourced; then the ms_svc_* functions are available and the
# caller decides what to do on failure (they return non-zero, never exit).
#
# Every process is tracked by a pid file under DIR and stopped by that pid
# only, so several instances (unit tests on AMQP 25672, quickstart on 5672,
# functional tests in a namespace) coexist. Each RabbitMQ node gets its own
# node name (derived from DIR), distribution port and epmd port (derived
# from PORT).

ms_svc_log() { printf 'services: %s\n' "$*" >&2; }
ms_svc_fail() { ms_svc_log "error: $*"; return 1; }

# ms_svc_alive PIDFILE: true when the file names a live process.
ms_svc_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null
}

# ms_svc_wait_gone PID SECONDS: wait for a process to exit.
ms_svc_wait_gone() {
    local pid=$1 i n=$(($2 * 10))
    for ((i = 0; i < n; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
}

ms_svc_absdir() {   # ms_svc_absdir DIR: create DIR and print its absolute path
    mkdir -p "$1" && (cd "$1" && pwd)
}

# -- MariaDB ---------------------------------------------------------------

ms_svc_mariadb_ping() {   # ms_svc_mariadb_ping SOCK
    mariadb-admin --no-defaults --connect-timeout=2 -S "$1" -uroot ping >/dev/null 2>&1
}

ms_svc_mariadb_start() {
    local dir
    [ -n "${1:-}" ] || { ms_svc_fail "usage: mariadb-start DIR"; return; }
    dir=$(ms_svc_absdir "$1") || { ms_svc_fail "cannot create $1"; return; }
    local data=$dir/mysql sock=$dir/mysql.sock pidf=$dir/mysql.pid log=$dir/mysql.log
    # sun_path holds 108 bytes including the NUL.
    if [ ${#sock} -gt 107 ]; then
        ms_svc_fail "socket path $sock is longer than 107 bytes; use a shorter DIR"
        return
    fi
    if ms_svc_alive "$pidf"; then
        if ms_svc_mariadb_ping "$sock"; then
            ms_svc_log "MariaDB already running (pid $(cat "$pidf"), socket $sock)"
            return 0
        fi
        ms_svc_fail "mariadbd pid $(cat "$pidf") is alive but does not answer on $sock"
        return
    fi
    rm -f "$pidf" "$sock"
    if [ ! -d "$data/mysql" ]; then
        ms_svc_log "initialising MariaDB datadir $data"
        mkdir -p "$data"
        # Runs as root (--user=root) so DIR may be any root-owned directory.
        if ! mariadb-install-db --no-defaults --user=root --datadir="$data" \
                --auth-root-authentication-method=normal --skip-test-db \
                >"$dir/mysql-install.log" 2>&1; then
            tail -n 20 "$dir/mysql-install.log" >&2
            rm -rf "$data"
            ms_svc_fail "mariadb-install-db failed (log: $dir/mysql-install.log)"
            return
        fi
    fi
    setsid mariadbd --no-defaults --user=root --datadir="$data" --socket="$sock" \
        --pid-file="$pidf" --skip-networking --skip-name-resolve \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --max-connections=500 --log-error="$log" </dev/null >/dev/null 2>&1 &
    local launcher=$! i
    for ((i = 0; i < 1200; i++)); do    # up to 60 s
        if ms_svc_mariadb_ping "$sock"; then
            # mariadbd writes the pid file itself once it is up.
            if [ ! -s "$pidf" ]; then echo "$launcher" >"$pidf"; fi
            ms_svc_log "MariaDB ready (pid $(cat "$pidf"), socket $sock)"
            return 0
        fi
        if ! kill -0 "$launcher" 2>/dev/null; then
            tail -n 20 "$log" >&2 2>/dev/null
            ms_svc_fail "mariadbd exited during start (log: $log)"
            return
        fi
        sleep 0.05
    done
    kill -TERM "$launcher" 2>/dev/null
    ms_svc_wait_gone "$launcher" 30 || kill -KILL "$launcher" 2>/dev/null
    ms_svc_fail "MariaDB did not answer on $sock within 60 s (log: $log)"
}

ms_svc_mariadb_stop() {
    local dir
    [ -n "${1:-}" ] || { ms_svc_fail "usage: mariadb-stop DIR"; return; }
    [ -d "$1" ] || { ms_svc_log "MariaDB not running (no $1)"; return 0; }
    dir=$(cd "$1" && pwd)
    local pidf=$dir/mysql.pid pid
    if ! ms_svc_alive "$pidf"; then
        ms_svc_log "MariaDB not running"
        rm -f "$pidf"
        return 0
    fi
    pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null
    if ! ms_svc_wait_gone "$pid" 60; then
        ms_svc_log "mariadbd (pid $pid) did not exit in 60 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        ms_svc_wait_gone "$pid" 10 || { ms_svc_fail "cannot stop mariadbd pid $pid"; return; }
    fi
    rm -f "$pidf" "$dir/mysql.sock"
    ms_svc_log "MariaDB stopped (pid $pid)"
}

# -- RabbitMQ --------------------------------------------------------------

MS_SVC_RABBIT_BIN=/usr/lib/rabbitmq/bin

# ms_svc_rabbit_env DIR PORT: export the private node's environment. The node
# name comes from DIR; the distribution port is PORT+1000, the CLI's own
# distribution range PORT+1001..PORT+1010 and epmd PORT+1100, so the test
# node (25672) and quickstart's (5672) never meet.
ms_svc_rabbit_env() {
    local dir=$1 port=$2 r=$1/rabbitmq sum
    sum=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
    export HOME=$r
    export RABBITMQ_NODENAME="ms${sum}@localhost"
    export RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf
    export RABBITMQ_CONFIG_FILE=$r/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config
    export RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins
    export RABBITMQ_MNESIA_BASE=$r/mnesia RABBITMQ_LOG_BASE=$r/log
    export RABBITMQ_PID_FILE=$dir/rabbitmq.pid
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port
    export RABBITMQ_DIST_PORT=$((port + 1000))
    export RABBITMQ_CTL_DIST_PORT_MIN=$((port + 1001))
    export RABBITMQ_CTL_DIST_PORT_MAX=$((port + 1010))
    export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$((port + 1100))
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# ms_svc_amqp_probe PORT: true when the port answers the AMQP 0-9-1 header
# with a method frame (Connection.Start, frame type 1).
ms_svc_amqp_probe() {
    timeout 3 bash -c '
        exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
        printf "AMQP\x00\x00\x09\x01" >&3
        b=$(head -c 1 <&3 | od -An -tu1 | tr -d " ")
        [ "$b" = 1 ]' 2>/dev/null
}

# ms_svc_epmd_pid PORT: pid of the epmd listening on 127.0.0.1:PORT.
ms_svc_epmd_pid() {
    ss -ltnpH "src 127.0.0.1:$1" 2>/dev/null |
        sed -n 's/.*"epmd",pid=\([0-9]*\),.*/\1/p' | head -n 1
}

ms_svc_rabbitmq_start() {
    local dir port
    if [ -z "${1:-}" ] || ! [[ "${2:-}" =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ] ||
            [ "$2" -gt 64000 ]; then
        ms_svc_fail "usage: rabbitmq-start DIR PORT (PORT 1..64000)"
        return
    fi
    dir=$(ms_svc_absdir "$1") || { ms_svc_fail "cannot create $1"; return; }
    port=$2
    local r=$dir/rabbitmq pidf=$dir/rabbitmq.pid
    if ms_svc_alive "$pidf"; then
        if ms_svc_amqp_probe "$port"; then
            ms_svc_log "RabbitMQ already running (pid $(cat "$pidf"), 127.0.0.1:$port)"
            return 0
        fi
        if [ -s "$r/port" ] && [ "$(cat "$r/port")" != "$port" ]; then
            ms_svc_fail "RabbitMQ under $dir runs on port $(cat "$r/port"), not $port"
            return
        fi
    else
        rm -f "$pidf"
        if ms_svc_amqp_probe "$port"; then
            ms_svc_log "error: 127.0.0.1:$port already answers AMQP (another broker)"
            return 3
        fi
    fi
    mkdir -p "$r/log" "$r/mnesia"
    : >"$r/rabbitmq-env.conf"
    [ -f "$r/enabled_plugins" ] || echo '[].' >"$r/enabled_plugins"
    printf 'listeners.tcp.default = 127.0.0.1:%s\n' "$port" >"$r/rabbitmq.conf"
    echo "$port" >"$r/port"
    (
        ms_svc_rabbit_env "$dir" "$port"
        local launcher i
        if ! ms_svc_alive "$pidf"; then
            ms_svc_log "starting RabbitMQ node $RABBITMQ_NODENAME on 127.0.0.1:$port"
            setsid "$MS_SVC_RABBIT_BIN/rabbitmq-server" </dev/null >"$r/server.out" 2>&1 &
            launcher=$!
            for ((i = 0; i < 1200; i++)); do    # the pid file appears early
                [ -s "$pidf" ] && break
                if ! kill -0 "$launcher" 2>/dev/null; then
                    tail -n 20 "$r/server.out" >&2
                    ms_svc_fail "rabbitmq-server exited during start (output: $r/server.out)"
                    exit 1
                fi
                sleep 0.1
            done
        fi
        if ! "$MS_SVC_RABBIT_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" wait \
                --timeout 180 "$pidf" >"$r/wait.out" 2>&1; then
            cat "$r/wait.out" >&2
            tail -n 20 "$r/server.out" >&2
            ms_svc_fail "RabbitMQ did not start (logs: $r/log, $r/server.out)"
            exit 1
        fi
        for ((i = 0; i < 300; i++)); do
            ms_svc_amqp_probe "$port" && break
            sleep 0.1
        done
        ms_svc_amqp_probe "$port" || {
            ms_svc_fail "RabbitMQ runs but 127.0.0.1:$port does not answer AMQP"
            exit 1
        }
        # Remember epmd's pid so that stop can end exactly this one.
        local epid
        epid=$(ms_svc_epmd_pid "$ERL_EPMD_PORT")
        [ -n "$epid" ] && echo "$epid" >"$r/epmd.pid"
        ms_svc_log "RabbitMQ ready (pid $(cat "$pidf"), 127.0.0.1:$port, guest/guest)"
    )
}

ms_svc_rabbitmq_stop() {
    local dir
    [ -n "${1:-}" ] || { ms_svc_fail "usage: rabbitmq-stop DIR"; return; }
    [ -d "$1" ] || { ms_svc_log "RabbitMQ not running (no $1)"; return 0; }
    dir=$(cd "$1" && pwd)
    local r=$dir/rabbitmq pidf=$dir/rabbitmq.pid port
    if [ ! -s "$r/port" ]; then
        ms_svc_log "RabbitMQ not running (never started under $dir)"
        return 0
    fi
    port=$(cat "$r/port")
    (
        ms_svc_rabbit_env "$dir" "$port"
        local pid epid rc=0
        if ms_svc_alive "$pidf"; then
            pid=$(cat "$pidf")
            # With the pid file rabbitmqctl waits until beam has exited.
            if ! "$MS_SVC_RABBIT_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" stop "$pidf" \
                    >"$r/stop.out" 2>&1; then
                ms_svc_log "rabbitmqctl stop failed; sending SIGTERM to pid $pid"
                kill -TERM "$pid" 2>/dev/null
            fi
            if ! ms_svc_wait_gone "$pid" 60; then
                ms_svc_log "RabbitMQ (pid $pid) did not exit in 60 s; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null
                ms_svc_wait_gone "$pid" 10 || { ms_svc_fail "cannot stop pid $pid"; rc=1; }
            fi
            [ $rc = 0 ] && ms_svc_log "RabbitMQ stopped (pid $pid)"
        else
            ms_svc_log "RabbitMQ not running"
        fi
        rm -f "$pidf"
        # epmd outlives the node; it listens on our private port only.
        epid=$(ms_svc_epmd_pid "$ERL_EPMD_PORT")
        if [ -n "$epid" ]; then
            epmd -kill >/dev/null 2>&1 || true
            if ! ms_svc_wait_gone "$epid" 5; then
                kill -TERM "$epid" 2>/dev/null
                ms_svc_wait_gone "$epid" 5 || kill -KILL "$epid" 2>/dev/null
            fi
        fi
        rm -f "$r/epmd.pid"
        exit $rc
    )
}

ms_svc_status() {
    local dir rc=0
    [ -n "${1:-}" ] || { ms_svc_fail "usage: status DIR"; return; }
    [ -d "$1" ] || { echo "mariadb: stopped"; echo "rabbitmq: stopped"; return 3; }
    dir=$(cd "$1" && pwd)
    if ms_svc_alive "$dir/mysql.pid" && ms_svc_mariadb_ping "$dir/mysql.sock"; then
        echo "mariadb: running pid=$(cat "$dir/mysql.pid") socket=$dir/mysql.sock"
    else
        echo "mariadb: stopped"
        rc=3
    fi
    local port
    port=$(cat "$dir/rabbitmq/port" 2>/dev/null)
    if ms_svc_alive "$dir/rabbitmq.pid" && [ -n "$port" ] && ms_svc_amqp_probe "$port"; then
        echo "rabbitmq: running pid=$(cat "$dir/rabbitmq.pid") amqp=127.0.0.1:$port"
    else
        echo "rabbitmq: stopped"
        rc=3
    fi
    return $rc
}

# -- command line ------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
    mariadb-start) ms_svc_mariadb_start "$@" ;;
    mariadb-stop) ms_svc_mariadb_stop "$@" ;;
    rabbitmq-start) ms_svc_rabbitmq_start "$@" ;;
    rabbitmq-stop) ms_svc_rabbitmq_stop "$@" ;;
    status) ms_svc_status "$@" ;;
    *)
        sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
    esac
    exit $?
fi
