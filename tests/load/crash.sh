#!/usr/bin/env bash
# Crash test of issuance: on SQLite and on PostgreSQL, `llavero serve` is killed with SIGKILL
# in the middle of a 16-worker issuance load, restarted on the same database, and then
#   - no status slot (list_id, idx) is used twice,
#   - every credential a client received is recorded, in the slot it names, for its holder key,
#   - the restarted server issues again (the load recovers without restarting the client).
# Prints `ok - …` lines; exits 1 if a check fails, 2 if the setup fails.
#
# Usage: tests/load/crash.sh [sqlite] [postgres]      (default: both)
# Environment: see lib.sh (PG_URL, LLAVERO_BIN, SKIP_BUILD=1, WORK, KEEP_DB=1).
# KILL_AFTER (default 3) seconds into the load, DURATION (default 8) seconds of load in all.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILL_AFTER=${KILL_AFTER:-3}
DURATION=${DURATION:-8}

crash_once() {
    local kind=$1
    forget_client
    new_database "$kind" "llavero_load_crash_$kind"
    start_server
    local received=$DATA_DIR/received.txt summary=$DATA_DIR/load.json
    : >"$received"
    load issue --url "$BASE" --agency registro-civil --client-id="$CLIENT_ID" \
        --client-secret="$CLIENT_SECRET" --concurrency 16 --duration "$DURATION" \
        --record "$received" >"$summary" 2>"$DATA_DIR/load.log" &
    local load_pid=$!
    sleep "$KILL_AFTER"
    local before
    before=$(wc -l <"$received")
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    log "$kind: killed the server after ${KILL_AFTER}s with $before credentials received"
    sleep 0.5
    start_server
    local after_restart
    after_restart=$(wc -l <"$received")
    wait "$load_pid" || {
        not_ok "$kind: the load client failed: $(cat "$DATA_DIR/load.log")"
        return
    }
    local total
    total=$(wc -l <"$received")
    if [ "$before" -gt 0 ]; then ok "$kind: $before credentials received before the kill"; else not_ok "$kind: nothing issued before the kill"; fi
    if [ "$total" -gt "$after_restart" ]; then
        ok "$kind: issuance resumed after the restart ($((total - after_restart)) more credentials)"
    else
        not_ok "$kind: nothing issued after the restart"
    fi
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("# load client:", s["done"], "credentials,", s["failed"], "failed requests:", s["failures"])' "$summary"

    local dups
    dups=$(sql "SELECT list_id, idx, COUNT(*) FROM issued_credentials GROUP BY list_id, idx HAVING COUNT(*) > 1")
    if [ -z "$dups" ]; then
        ok "$kind: no (list_id, idx) is used twice ($(sql 'SELECT COUNT(*) FROM issued_credentials') rows)"
    else
        not_ok "$kind: slots used twice: $(printf '%s' "$dups" | head -5 | tr '\n' ' ')"
    fi
    sql "SELECT list_id, idx, holder_thumbprint FROM issued_credentials WHERE agency_id = 'registro-civil'" >"$DATA_DIR/rows.txt"
    python3 "$ROOT/tests/load/check_received.py" "$received" "$DATA_DIR/rows.txt" registro-civil |
        sed "s/^\(not ok\|ok\|#\) - /\1 - $kind: /; s/^# /# $kind: /" || FAILED=1
    stop_server
    drop_database
}

build
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(sqlite postgres)
started=$SECONDS
for kind in "${kinds[@]}"; do
    crash_once "$kind"
done
log "crash test took $((SECONDS - started)) s"
exit "$FAILED"
