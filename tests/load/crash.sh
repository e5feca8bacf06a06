#!/usr/bin/env bash
# Crash test of issuance: on SQLite and on PostgreSQL, `llavero serve` is killed with SIGKILL
# in the middle of a 16-worker issuance load, restarted on the same database, and then
#   - no status slot (list_id, idx) is used twice,
#   - every credential a client received is recorded, in the slot it names, for its holder key,
#   - the restarted server issues again (the load recovers without restarting the client).
# Then the same for refresh-token rotation: killed under a 16-family rotation load (rotate.py),
# restarted, and
#   - every family's last token still rotates: a rotation committed whose answer was lost is
#     retried with the token before it, within the grace window (a fresh pair, not a reuse),
#   - no family is revoked.
# Prints `ok - …` lines; exits 1 if a check fails, 2 if the setup fails.
#
# Usage: tests/load/crash.sh [sqlite] [postgres]      (default: both)
# Environment: see lib.sh (PG_URL, LLAVERO_BIN, SKIP_BUILD=1, WORK, KEEP_DB=1).
# KILL_AFTER (default 3) seconds into the load, DURATION (default 8) seconds of load in all;
# ROTATE_KILL_AFTER (default 2) and ROTATE_DURATION (default 4) for the rotation load.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILL_AFTER=${KILL_AFTER:-3}
DURATION=${DURATION:-8}
ROTATE_KILL_AFTER=${ROTATE_KILL_AFTER:-2}
ROTATE_DURATION=${ROTATE_DURATION:-4}
FAMILIES=16
REDIRECT_URI=http://127.0.0.1:9/cb

# kill_and_restart KIND: SIGKILL to the server, then a restart on the same database.
kill_and_restart() {
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    local killed=$SECONDS
    sleep 0.5
    start_server
    log "$1: restarted $((SECONDS - killed)) s after the kill"
}

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
    log "$kind: killing the server after ${KILL_AFTER}s with $before credentials received"
    kill_and_restart "$kind"
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

# crash_rotation_once KIND: the rotation load (rotate.py, one family per worker, the demo
# citizen) killed and restarted; no family may be refused or revoked.
crash_rotation_once() {
    local kind=$1
    # Every rotation comes from one IP: no client rate limit here.
    local -x LLAVERO_CLIENT_RATE_PER_MINUTE=100000000
    forget_client
    new_database "$kind" "llavero_load_rotation_$kind"
    start_server
    local password client summary=$DATA_DIR/rotate.json
    password=$(sed -nE 's/^Demo account: RUN [^ ]+ +password ([^ ]+) .*/\1/p' "$DATA_DIR/serve.log" | head -1)
    client=$(cli client add --name "Crash test" --redirect-uri "$REDIRECT_URI" --scope openid)
    python3 "$ROOT/tests/load/rotate.py" "$BASE" \
        "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")" \
        "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")" \
        11.111.111-1 "$password" "$REDIRECT_URI" "$FAMILIES" "$ROTATE_DURATION" \
        >"$summary" 2>"$DATA_DIR/rotate.log" &
    local load_pid=$!
    # The families are set up (one login, then a code each) before the load starts.
    local i
    for i in $(seq 1 300); do
        grep -q "rotating for" "$DATA_DIR/rotate.log" 2>/dev/null && break
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep "$ROTATE_KILL_AFTER"
    local before
    before=$(sql "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NOT NULL")
    log "$kind: killing the server under rotation load after $before rotations"
    kill_and_restart "$kind"
    if wait "$load_pid"; then
        ok "$kind: every family's last refresh token still rotates after the crash ($(cat "$summary"))"
    else
        not_ok "$kind: rotation load: $(cat "$summary" "$DATA_DIR/rotate.log")"
    fi
    local revoked retired
    revoked=$(sql "SELECT COUNT(*) FROM grants WHERE revoked_at IS NOT NULL")
    # A successor retired by a retry within the grace window is spent without a successor.
    retired=$(sql "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NOT NULL AND successor_hash IS NULL")
    if [ "$revoked" = 0 ]; then
        ok "$kind: no refresh-token family revoked by the crash ($retired lost answers retried within the grace window)"
    else
        not_ok "$kind: $revoked refresh-token families revoked by the crash"
    fi
    stop_server
    drop_database
}

build
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(sqlite postgres)
started=$SECONDS
for kind in "${kinds[@]}"; do
    crash_once "$kind"
    crash_rotation_once "$kind"
done
log "crash test took $((SECONDS - started)) s"
exit "$FAILED"
