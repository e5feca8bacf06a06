#!/usr/bin/env bash
# Memory and throughput of password logins under bursts: `llavero serve` on a fresh SQLite
# directory (or PostgreSQL) receives BURSTS bursts of CONCURRENCY concurrent `POST /login`, each
# with an unknown RUN (a valid check digit, no account), so every one costs an Argon2id
# verification against the dummy hash. Each request of a burst comes from its own loopback
# address (curl --interface 127.0.0.N): the per-IP login rate limit (30 a minute, counted in the
# database) sees CONCURRENCY clients with BURSTS requests each, as from many citizens, and is
# not what the bursts measure. Each RUN is used once, so no per-RUN delay applies either.
#
# Prints the server's resident memory before the bursts, its peak during them (VmHWM of
# /proc/PID/status, reset through clear_refs once the server is up, so startup does not count),
# and after them (AFTER_WAIT seconds later), the answers by status (401 = evaluated and refused, 503 = hashing queue full) and the
# logins evaluated per second over the bursts. Exits 1 if the peak exceeds PEAK_LIMIT_MB (only
# when set), 2 if the setup fails.
#
# Usage: tests/load/login_burst.sh [sqlite|postgres]      (default: sqlite)
# Environment: see lib.sh (LLAVERO_BIN, SKIP_BUILD=1, PG_URL, WORK, KEEP_DB=1). BURSTS (4),
# CONCURRENCY (60, at most 250: one loopback address each), AFTER_WAIT (5 s), PEAK_LIMIT_MB,
# LISTEN_PORT (default: a free port).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BURSTS=${BURSTS:-4}
CONCURRENCY=${CONCURRENCY:-60}
AFTER_WAIT=${AFTER_WAIT:-5}
KIND=${1:-sqlite}
[ "$CONCURRENCY" -le 250 ] || {
    log "CONCURRENCY is at most 250 (one loopback address 127.0.0.2… each)"
    exit 2
}

# rss_mb FIELD: the server's VmRSS or VmHWM in MB.
rss_mb() {
    awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# run_with_check NUMBER: "NUMBER-DV", the RUN with its mod-11 check digit.
run_with_check() {
    local n=$1 sum=0 factor=2 digit
    while [ "$n" -gt 0 ]; do
        digit=$((n % 10))
        sum=$((sum + digit * factor))
        factor=$((factor == 7 ? 2 : factor + 1))
        n=$((n / 10))
    done
    local dv=$((11 - sum % 11))
    case $dv in 11) dv=0 ;; 10) dv=K ;; esac
    printf '%s-%s' "$1" "$dv"
}

build
new_database "$KIND" "llavero_load_logins_$KIND"
if [ -n "${LISTEN_PORT:-}" ]; then
    PORT=$LISTEN_PORT
    BASE=http://127.0.0.1:$PORT
fi
start_server
log "# binary: $BIN ($KIND)"

# One CSRF cookie and its form token serve every request: the token is bound to the cookie,
# not to an address.
jar=$DATA_DIR/cookies.txt
csrf=$(curl -fsS -c "$jar" "$BASE/login" | sed -nE 's/.*name="csrf" value="([^"]+)".*/\1/p' | head -1)
[ -n "$csrf" ] || {
    log "no CSRF token on the login form"
    exit 2
}
# Warm the process (the first login parses templates, opens database connections).
curl -sS -o /dev/null -b "$jar" --data-urlencode "csrf=$csrf" --data "request=&run=1-9&password=x" \
    "$BASE/login"
sleep 1
before=$(rss_mb VmRSS)
startup_peak=$(rss_mb VmHWM)
echo 5 >"/proc/$SERVER_PID/clear_refs" # resets VmHWM to the current resident size

statuses=$DATA_DIR/statuses.txt
: >"$statuses"
start=$(date +%s.%N)
for burst in $(seq 1 "$BURSTS"); do
    pids=()
    for i in $(seq 1 "$CONCURRENCY"); do
        run=$(run_with_check $((40000000 + burst * 1000 + i)))
        curl -sS -o /dev/null -w '%{http_code}\n' --interface "127.0.0.$((i + 1))" \
            -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "run=$run" \
            --data "request=&password=una+clave+equivocada" "$BASE/login" >>"$statuses" &
        pids+=($!)
    done
    wait "${pids[@]}" # not a bare wait: the server is a child too
done
seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
peak=$(rss_mb VmHWM)
sleep "$AFTER_WAIT"
after=$(rss_mb VmRSS)

total=$(wc -l <"$statuses")
refused=$(grep -c '^401$' "$statuses" || true)
busy=$(grep -c '^503$' "$statuses" || true)
other=$((total - refused - busy))
rate=$(echo "$refused / $seconds" | bc -l)
printf 'rss_before_mb=%s\nrss_peak_mb=%s (startup peak %s)\nrss_after_mb=%s\n' \
    "$before" "$peak" "$startup_peak" "$after"
printf 'logins=%s evaluated_401=%s busy_503=%s other=%s\n' "$total" "$refused" "$busy" "$other"
printf 'seconds=%.2f logins_per_s=%.1f\n' "$seconds" "$rate"
if [ "$other" -gt 0 ]; then
    not_ok "unexpected answers: $(sort "$statuses" | uniq -c | tr '\n' ' ')"
fi
if [ -n "${PEAK_LIMIT_MB:-}" ]; then
    if awk -v p="$peak" -v l="$PEAK_LIMIT_MB" 'BEGIN { exit !(p <= l) }'; then
        ok "peak resident memory ${peak} MB within ${PEAK_LIMIT_MB} MB"
    else
        not_ok "peak resident memory ${peak} MB above ${PEAK_LIMIT_MB} MB"
    fi
fi
stop_server
drop_database
exit "$FAILED"
