#!/bin/bash
# Bring up a working monostack on this machine in one command: install the
# dependencies, build, start a private MariaDB and RabbitMQ under the state
# directory, sync the schema, start monostackd, bootstrap the admin account
# and catalog, and write admin-openrc.sh for the openstack CLI.
#
#   scripts/quickstart.sh [--state DIR] [--build DIR]   start (again: safe, a
#                                                       no-op when up)
#   scripts/quickstart.sh [--state DIR] --stop          stop what it started
#
# --build DIR builds into DIR instead of ./build (the tests use the tree
# they are testing).
#
# Everything it starts is recorded by a pid file under the state directory
# (default ./.monostack) and --stop stops exactly those processes.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVICES="$SRC/scripts/lib/services.sh"
STATE=./.monostack
STOP=0
BUILD=$SRC/build
BUS_PORT=5672
ID_PORT=5000

usage() {
    echo "usage: $0 [--state DIR] [--build DIR] [--stop]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --state) [ $# -ge 2 ] || usage; STATE=$2; shift 2 ;;
    --state=*) STATE=${1#--state=}; shift ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
    --build=*) BUILD=${1#--build=}; shift ;;
    --stop) STOP=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
done
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
CONF=$STATE/monostack.conf
PIDFILE=$STATE/monostackd.pid
LOG=$STATE/monostackd.log
OPENRC=$STATE/admin-openrc.sh
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)

step_no=0
step() { step_no=$((step_no + 1)); printf '\n==> [%d] %s\n' "$step_no" "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

pid_alive() {   # pid_alive PIDFILE: true when the file names a live process
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# A secret generated once and kept (mode 600) in the state directory.
secret() {
    local f=$STATE/$1
    if [ ! -s "$f" ]; then
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$f")
    fi
    cat "$f"
}

stop_daemon() {
    if pid_alive "$PIDFILE"; then
        local pid
        pid=$(cat "$PIDFILE")
        info "stopping monostackd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            info "monostackd did not exit in 30 s; sending SIGKILL"
            kill -KILL "$pid"
        fi
        rm -f "$PIDFILE"
    else
        info "monostackd is not running"
        rm -f "$PIDFILE"
    fi
}

if [ "$STOP" = 1 ]; then
    step "stopping monostack under $STATE"
    stop_daemon
    [ -x "$SERVICES" ] || [ -f "$SERVICES" ] || die "missing $SERVICES"
    info "stopping RabbitMQ"
    bash "$SERVICES" rabbitmq-stop "$STATE"
    info "stopping MariaDB"
    bash "$SERVICES" mariadb-stop "$STATE"
    printf '\nmonostack stopped (state kept in %s; start again with %s --state %s)\n' \
        "$STATE" "$0" "$STATE"
    exit 0
fi

step "installing dependencies (scripts/setup.sh)"
"$SRC/scripts/setup.sh"

step "building into $BUILD"
# A tree configured before keeps its settings (e.g. a sanitizer build).
cfg=()
[ -f "$BUILD/CMakeCache.txt" ] || cfg=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if ! { cmake -S "$SRC" -B "$BUILD" "${cfg[@]}" &&
        cmake --build "$BUILD" -j"$(nproc)"; } >"$STATE/build.log" 2>&1; then
    tail -n 40 "$STATE/build.log" >&2
    die "build failed (full output: $STATE/build.log)"
fi
info "built monostackd and monostack-manage (output: $STATE/build.log)"
info "$("$BUILD/monostackd" --version 2>&1 | head -1)"

step "starting MariaDB (datadir and socket under $STATE)"
bash "$SERVICES" mariadb-start "$STATE"
SOCK=$STATE/mysql.sock
DB_PW=$(secret db-password)
mariadb --no-defaults -S "$SOCK" -uroot -e "
    CREATE DATABASE IF NOT EXISTS monostack CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS 'monostack'@'localhost' IDENTIFIED BY '$DB_PW';
    ALTER USER 'monostack'@'localhost' IDENTIFIED BY '$DB_PW';
    GRANT ALL PRIVILEGES ON monostack.* TO 'monostack'@'localhost';
    FLUSH PRIVILEGES;"
info "database monostack, user monostack, socket $SOCK"

step "starting RabbitMQ on 127.0.0.1:$BUS_PORT"
bash "$SERVICES" rabbitmq-start "$STATE" "$BUS_PORT"

step "writing $CONF"
(umask 077; cat > "$CONF" <<EOF
# Written by scripts/quickstart.sh; every option is documented in
# etc/monostack.conf.sample.
[DEFAULT]
state_path = $STATE
bind_host = 127.0.0.1
log_level = INFO

[database]
connection = mysql://monostack:$DB_PW@/monostack?unix_socket=$SOCK

[bus]
url = amqp://guest:guest@127.0.0.1:$BUS_PORT/
EOF
)
"$BUILD/monostackd" -n --config "$CONF" || die "configuration check failed"

step "applying the database schema (monostack-manage db sync)"
"$BUILD/monostack-manage" --config "$CONF" db sync
info "token keys (monostack-manage fernet setup; kept when they exist)"
"$BUILD/monostack-manage" --config "$CONF" fernet setup

step "starting monostackd"
if pid_alive "$PIDFILE"; then
    info "already running (pid $(cat "$PIDFILE")); leaving it alone"
else
    t0=$(date +%s%N)
    setsid "$BUILD/monostackd" --config "$CONF" --pid-file "$PIDFILE" \
        </dev/null >>"$LOG" 2>&1 &
    spawned=$!
    ok=0
    for _ in $(seq 1 600); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$ID_PORT/healthcheck" 2>/dev/null; then
            ok=1
            break
        fi
        kill -0 "$spawned" 2>/dev/null || break
        sleep 0.05
    done
    if [ "$ok" != 1 ]; then
        tail -n 30 "$LOG" >&2
        die "monostackd did not become healthy (log: $LOG)"
    fi
    info "serving after $(( ($(date +%s%N) - t0) / 1000000 )) ms (pid $(cat "$PIDFILE"))"
fi

step "bootstrapping the admin account and catalog"
ADMIN_PW=$(secret admin-password)
"$BUILD/monostack-manage" --config "$CONF" bootstrap --admin-password "$ADMIN_PW" \
    --public-url http://127.0.0.1

step "writing $OPENRC"
(umask 077; cat > "$OPENRC" <<EOF
# Source this file to use the openstack CLI against this monostack:
#   . $OPENRC && openstack token issue
export OS_AUTH_URL=http://127.0.0.1:$ID_PORT/v3
export OS_USERNAME=admin
export OS_PASSWORD='$ADMIN_PW'
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
EOF
)

# What is listening: ask each standard port for its version document.
apis=""
for pair in identity:5000 image:9292 compute:8774 volume:8776 network:9696 metadata:8775; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${pair#*:}/" || true)
    if [ "$code" != "000" ]; then
        apis+=$(printf '\n    %-9s http://127.0.0.1:%s/' "${pair%%:*}" "${pair#*:}")
    fi
done

cat <<EOF

==> monostack is running
    monostackd  pid $(cat "$PIDFILE"), log $LOG
    config      $CONF
    MariaDB     socket $STATE/mysql.sock (database monostack)
    RabbitMQ    amqp://guest:guest@127.0.0.1:$BUS_PORT/
    services    $(bash "$SERVICES" status "$STATE" 2>&1 | tr '\n' ' ')
    state dir   $STATE
    APIs:$apis

  Use it with the openstack CLI:
    . $OPENRC
    openstack token issue
    openstack catalog list
    openstack user list

  Stop everything this script started:
    $0 --state $STATE --stop
EOF
