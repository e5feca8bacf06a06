#!/usr/bin/env bash
# Issuance benchmark, one session: the raw signing baseline on one thread, then on SQLite and on
# PostgreSQL (each a fresh database) HTTP issuance and HTTP revocation; prints a table with the
# absolute rates, credentials per core and the ratio to the baseline.
#
# The load client runs on the same machine and takes CPU too (a new P-256 key and proof per
# credential), so "per core" is reported twice: over every core of the machine, and over the
# CPU time the server process actually used (from /proc/PID/stat).
#
# Usage: tests/load/bench.sh [sqlite] [postgres]      (default: both)
# Environment: see lib.sh; CONCURRENCY (16), DURATION (20), BATCH (1), REVOKE_DURATION (10),
# SIGN_DURATION (5), CORES (nproc).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-20}
BATCH=${BATCH:-1}
REVOKE_DURATION=${REVOKE_DURATION:-10}
SIGN_DURATION=${SIGN_DURATION:-5}
CORES=${CORES:-$(nproc)}
TICKS=$(getconf CLK_TCK)
RESULTS=${RESULTS:-$WORK/results}
mkdir -p "$RESULTS"

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

bench_once() {
    local kind=$1
    forget_client
    new_database "$kind" "llavero_load_bench_$kind"
    start_server
    local target=(--url "$BASE" --agency registro-civil --client-id="$CLIENT_ID"
        --client-secret="$CLIENT_SECRET" --concurrency "$CONCURRENCY")
    log "$kind: issuing for ${DURATION}s (concurrency $CONCURRENCY, batch $BATCH)"
    local cpu_before cpu_after
    cpu_before=$(cpu_ticks "$SERVER_PID")
    /usr/bin/time -o "$RESULTS/$kind-issue.client-cpu" -f '%U %S' \
        "$BIN" load issue "${target[@]}" --duration "$DURATION" --batch "$BATCH" \
        >"$RESULTS/$kind-issue.json" 2>"$RESULTS/$kind-issue.log"
    cpu_after=$(cpu_ticks "$SERVER_PID")
    echo "$(((cpu_after - cpu_before))) $TICKS" >"$RESULTS/$kind-issue.server-cpu"
    log "$kind: revoking for up to ${REVOKE_DURATION}s"
    cpu_before=$(cpu_ticks "$SERVER_PID")
    "$BIN" load revoke "${target[@]}" --duration "$REVOKE_DURATION" \
        >"$RESULTS/$kind-revoke.json" 2>"$RESULTS/$kind-revoke.log"
    cpu_after=$(cpu_ticks "$SERVER_PID")
    echo "$(((cpu_after - cpu_before))) $TICKS" >"$RESULTS/$kind-revoke.server-cpu"
    sql "SELECT COUNT(*) FROM issued_credentials" >"$RESULTS/$kind-rows"
    stop_server
    drop_database
}

build
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(sqlite postgres)
started=$SECONDS
log "baseline: signing on one thread for ${SIGN_DURATION}s, then proof checks for ${SIGN_DURATION}s"
"$BIN" load sign --duration "$SIGN_DURATION" >"$RESULTS/sign.json" 2>"$RESULTS/sign.log"
for kind in "${kinds[@]}"; do
    bench_once "$kind"
done
python3 "$ROOT/tests/load/report.py" "$RESULTS" "$CORES" "${kinds[@]}"
log "benchmark took $((SECONDS - started)) s; raw results in $RESULTS"
