# Shared by crash.sh and bench.sh: building, starting and stopping `llavero serve` on SQLite or
# PostgreSQL, and reading its demo agency client. Sourced, not run.
#
# Environment:
#   LLAVERO_BIN       the binary (default: target/release/llavero, built unless SKIP_BUILD=1)
#   PG_URL            PostgreSQL server (default postgres://root@127.0.0.1:5432/test); each
#                     script creates and drops only its own database (llavero_load_*)
#   WORK              scratch directory (default: a new temp dir, removed at exit)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_URL=${PG_URL:-postgres://root@127.0.0.1:5432/test}
PG_BASE=${PG_URL%/*}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/llavero-load.XXXXXX")
    trap 'stop_server; rm -rf "$WORK"' EXIT
else
    mkdir -p "$WORK"
    trap 'stop_server' EXIT
fi
SERVER_PID=""

log() { printf '%s\n' "$*" >&2; }
ok() { printf 'ok - %s\n' "$*"; }
not_ok() {
    printf 'not ok - %s\n' "$*"
    FAILED=1
}
FAILED=0

build() {
    if [ -n "${LLAVERO_BIN:-}" ]; then
        BIN=$LLAVERO_BIN
    else
        BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/llavero
        if [ "${SKIP_BUILD:-0}" != 1 ]; then
            log "building $BIN"
            (cd "$ROOT" && cargo build --release -p llavero-server --quiet)
        fi
    fi
    [ -x "$BIN" ] || {
        log "no binary at $BIN"
        exit 2
    }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# new_database KIND NAME: a fresh data dir (and, for postgres, a fresh database NAME) and the
# variables start_server reads: DB_KIND, DATA_DIR, DB_URL, DB_NAME, PORT, BASE.
new_database() {
    DB_KIND=$1
    DB_NAME=$2
    DATA_DIR=$WORK/$DB_NAME
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
    PORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    case $DB_KIND in
    sqlite) DB_URL="" ;;
    postgres)
        psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null
        psql -q "$PG_URL" -c "CREATE DATABASE $DB_NAME" >/dev/null
        DB_URL=$PG_BASE/$DB_NAME
        ;;
    *)
        log "unknown database kind $DB_KIND"
        exit 2
        ;;
    esac
    MASTER_KEY=$(python3 -c "import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode())")
}

# drop_database: removes the postgres database new_database created (SQLite dirs go with WORK).
drop_database() {
    if [ "$DB_KIND" = postgres ] && [ "${KEEP_DB:-0}" != 1 ]; then
        psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null || true
    fi
}

# server_env: exports the server's environment for the current database (in a subshell).
server_env() {
    export LLAVERO_DATA_DIR=$DATA_DIR LLAVERO_LISTEN=127.0.0.1:$PORT LLAVERO_ISSUER=$BASE
    export LLAVERO_DEMO_DATA=true RUST_LOG=${SERVER_LOG:-warn}
    if [ -n "$DB_URL" ]; then
        export LLAVERO_DATABASE_URL=$DB_URL LLAVERO_MASTER_KEY=$MASTER_KEY
    fi
}

# cli ARGS…: runs `llavero ARGS…` on the current database.
cli() {
    (
        server_env
        exec "$BIN" "$@"
    )
}

# start_server: starts `llavero serve` on the current database, waits until it answers, and
# (on its first start) reads the registro-civil demo client into CLIENT_ID / CLIENT_SECRET.
start_server() {
    local out=$DATA_DIR/serve.log
    (
        server_env
        exec "$BIN" serve
    ) >>"$out" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 600); do
        if curl -fs -o /dev/null "$BASE/.well-known/openid-credential-issuer/registro-civil"; then
            break
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "llavero serve exited; its log:"
            cat "$out" >&2
            exit 2
        fi
        sleep 0.1
    done
    if [ -z "${CLIENT_ID:-}" ]; then
        local line
        line=$(grep -m1 "Demo agency $BASE/registro-civil: API client" "$out" || true)
        CLIENT_ID=$(printf '%s' "$line" | sed -E 's/.*API client ([^ ]+) +secret.*/\1/')
        CLIENT_SECRET=$(printf '%s' "$line" | sed -E 's/.*secret ([^ ]+).*/\1/')
        [ -n "$CLIENT_ID" ] || {
            log "no demo agency client in $out"
            exit 2
        }
    fi
}

# stop_server [SIGNAL]: stops the server started last (SIGINT: a graceful shutdown).
stop_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "-${1:-INT}" "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# forget_client: the next start_server reads a new demo client (a new database).
forget_client() {
    CLIENT_ID=""
    CLIENT_SECRET=""
}

# sql QUERY: runs QUERY on the current database, one row per line, fields separated by '|'.
sql() {
    case $DB_KIND in
    sqlite)
        if command -v sqlite3 >/dev/null; then
            sqlite3 "$DATA_DIR/llavero.db" "$1"
        else
            python3 -c 'import sqlite3,sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str,row)))' \
                "$DATA_DIR/llavero.db" "$1"
        fi
        ;;
    postgres) psql -qAt -F '|' "$DB_URL" -c "$1" ;;
    esac
}

load() {
    "$BIN" load "$@"
}
