#!/bin/bash
# The "backing" ctest fixture: a private MariaDB and RabbitMQ for the unit
# tests, under the build's test-env directory.
#
#   tests/backing.sh start DIR AMQP_PORT   MariaDB on DIR/mysql.sock (root, no
#                                          password) with a fresh, empty
#                                          database monostack_test; RabbitMQ
#                                          guest/guest on 127.0.0.1:AMQP_PORT
#   tests/backing.sh stop DIR              stop both; nothing is left running
#
# start drops and recreates monostack_test, so every run begins clean.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVICES=$SRC/scripts/lib/services.sh

usage() {
    echo "usage: $0 start DIR AMQP_PORT | stop DIR" >&2
    exit 2
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage

case "$cmd" in
start)
    port=${3:-}
    [ -n "$port" ] || usage
    mkdir -p "$dir/tmp"
    # Start both at once: RabbitMQ takes seconds, MariaDB a fraction.
    bash "$SERVICES" rabbitmq-start "$dir" "$port" &
    bus=$!
    rc=0
    bash "$SERVICES" mariadb-start "$dir" || rc=1
    brc=0
    wait "$bus" || brc=$?
    if [ $brc = 3 ]; then
        # Another build tree's fixture already runs a private broker on this
        # port (same guest/guest setup): share it rather than fail.
        echo "backing: warning: 127.0.0.1:$port is served by another broker; using it" >&2
    elif [ $brc != 0 ]; then
        rc=1
    fi
    if [ $rc != 0 ]; then
        echo "backing: start failed; stopping what was started" >&2
        bash "$SERVICES" rabbitmq-stop "$dir" || true
        bash "$SERVICES" mariadb-stop "$dir" || true
        exit 1
    fi
    mariadb --no-defaults -S "$dir/mysql.sock" -uroot -e "
        DROP DATABASE IF EXISTS monostack_test;
        CREATE DATABASE monostack_test CHARACTER SET utf8mb4;"
    rm -rf "$dir/tmp" && mkdir -p "$dir/tmp"
    echo "backing: MariaDB $dir/mysql.sock (database monostack_test)," \
        "RabbitMQ 127.0.0.1:$port" >&2
    ;;
stop)
    rc=0
    bash "$SERVICES" rabbitmq-stop "$dir" || rc=1
    bash "$SERVICES" mariadb-stop "$dir" || rc=1
    exit $rc
    ;;
*)
    usage
    ;;
esac
