#!/usr/bin/env bash
# A private, throwaway PostgreSQL server on loopback for tests/services (Optuna's RDB storage).
#
#   .ci/postgres.sh start    install Debian's postgresql if missing, create a cluster in
#                            $SNAKEML_POSTGRES_DIR (password required over TCP), start it on a
#                            free loopback port and write $SNAKEML_POSTGRES_DIR/env
#   .ci/postgres.sh stop     stop that server (fast shutdown) and remove its data
#   .ci/postgres.sh status   succeed if the server accepts connections
#
# The env file holds SNAKEML_TEST_POSTGRES_URL (no password in it) and
# SNAKEML_TEST_POSTGRES_PASSWORD, which the tests hand to the pipeline as PGPASSWORD only.
# The server runs as the postgres system user when started by root (PostgreSQL refuses root).
set -euo pipefail

STATE_DIR="${SNAKEML_POSTGRES_DIR:-${TMPDIR:-/tmp}/snakeml-postgres}"
DATA="$STATE_DIR/data"
ENV_FILE="$STATE_DIR/env"
DB_USER=snakeml
DB_NAME=optuna

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

server_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && printf '%s\n' "$dir"
}

install_packages() {
    if server_bin >/dev/null; then
        return
    fi
    [ "$(id -u)" -eq 0 ] || die "postgresql is not installed and installing it needs root"
    log "installing postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null
}

# Run a server command as the owner of the data directory.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    install_packages
    local bin port password
    bin="$(server_bin)" || die "no PostgreSQL server binaries under /usr/lib/postgresql"
    if [ -f "$ENV_FILE" ] && status >/dev/null 2>&1; then
        log "already running ($ENV_FILE)"
        return
    fi
    mkdir -p "$STATE_DIR"
    rm -rf "$DATA"
    password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    umask 077
    printf '%s\n' "$password" >"$STATE_DIR/password"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres: "$STATE_DIR"
    fi
    as_owner "$bin/initdb" -D "$DATA" -U "$DB_USER" --pwfile="$STATE_DIR/password" \
        --auth-local=trust --auth-host=scram-sha-256 >"$STATE_DIR/initdb.log"
    port="$(free_port)"
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$STATE_DIR/server.log" -w -t 60 \
        -o "-p $port -k $STATE_DIR -c listen_addresses=127.0.0.1" start >/dev/null \
        || { cat "$STATE_DIR/server.log" >&2; die "the server did not start"; }
    PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME"
    cat >"$ENV_FILE" <<EOF
SNAKEML_TEST_POSTGRES_URL=postgresql+psycopg://$DB_USER@127.0.0.1:$port/$DB_NAME
SNAKEML_TEST_POSTGRES_PASSWORD=$password
EOF
    chmod 644 "$ENV_FILE"
    log "PostgreSQL on 127.0.0.1:$port, database $DB_NAME, user $DB_USER ($ENV_FILE)"
}

stop() {
    local bin
    bin="$(server_bin)" || return 0
    if [ -f "$DATA/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$DATA" "$ENV_FILE" "$STATE_DIR/password"
}

status() {
    local bin port
    bin="$(server_bin)" || die "PostgreSQL is not installed"
    [ -f "$ENV_FILE" ] || die "not started: no $ENV_FILE"
    port="$(sed -n 's/^SNAKEML_TEST_POSTGRES_URL=.*:\([0-9]*\)\/.*/\1/p' "$ENV_FILE")"
    "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|stop|status" ;;
esac
