#!/usr/bin/env bash
# Runs wallet.mjs against mock_issuer.mjs (a MOCK, not Llavero): the pre-authorized flow with a
# tx_code and a batch of 3 for each configuration, the status of a credential before and after the
# mock revokes and suspends it, and the refusals the wallet must report (wrong tx_code, reused
# offer). Checks the wallet, not Llavero. Needs `npm ci` here first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
log="$(mktemp)"
mock=""
trap '[ -n "$mock" ] && kill "$mock" 2>/dev/null; rm -f "$log" "$log.out"' EXIT

node mock_issuer.mjs 0 registro-civil > "$log.out" 2> "$log" &
mock=$!
for _ in $(seq 1 50); do [ -s "$log.out" ] && break; sleep 0.1; done
base="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).base)' "$log.out")"
echo "mock issuer at $base"

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
ko() { echo "FAIL $1"; failed=$((failed + 1)); }
offer() { curl -sf -X POST -H 'Content-Type: application/json' -d "$1" "$base/mock/offers"; }
field() { node -e 'const v = JSON.parse(process.argv[1]); const r = process.argv[2].split(".").reduce((o, k) => o[k], v); console.log(typeof r === "string" ? r : JSON.stringify(r))' "$1" "$2"; }

for config in birth-certificate_sd-jwt birth-certificate_vc-jwt; do
  o="$(offer "{\"credential_configuration_ids\": [\"$config\"]}")"
  if out="$(node wallet.mjs pre-authorized "$(field "$o" offer_uri)" "$(field "$o" tx_code)" 3)"; then
    n="$(field "$out" credentials.length)"
    idxs="$(node -e 'const v = JSON.parse(process.argv[1]); console.log(v.verified.map((r) => r.holder_key_index).sort().join(","))' "$out")"
    if [ "$n" = 3 ] && [ "$idxs" = "0,1,2" ]; then ok "$config: batch of 3, each bound to its own key"; else ko "$config: $n credentials, keys $idxs"; fi
  else
    ko "$config: pre-authorized flow"
  fi
done

# Both configurations in one offer, passed by value (credential_offer=) rather than by reference.
o="$(offer '{"credential_configuration_ids": ["birth-certificate_sd-jwt", "birth-certificate_vc-jwt"]}')"
json="$(curl -sf "$(node -e 'console.log(new URL(process.argv[1]).searchParams.get("credential_offer_uri"))' "$(field "$o" offer_uri)")")"
by_value="openid-credential-offer://?credential_offer=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$json")"
if out="$(node wallet.mjs pre-authorized "$by_value" "$(field "$o" tx_code)" 2)" \
  && [ "$(node -e 'console.log(JSON.parse(process.argv[1]).verified.map((r) => r.format).join(","))' "$out")" = "dc+sd-jwt,dc+sd-jwt,jwt_vc_json,jwt_vc_json" ]; then
  ok "offer by value with both configurations: 2 + 2 credentials"
else
  ko "offer by value with both configurations"
fi

# Status: valid, then revoked (1), then suspended (2), read by the wallet from the status list.
o="$(offer '{"tx_code": false}')"
out="$(node wallet.mjs pre-authorized "$(field "$o" offer_uri)" "" 1)"
cred="$(field "$out" credentials.0)"
idx="$(field "$out" verified.0.status.status_list.idx)"
[ "$(node wallet.mjs status "$cred")" = '{"status":0}' ] && ok "status 0 (valid), no tx_code" || ko "status 0"
curl -sf -X POST -d "{\"idx\": $idx, \"status\": 1}" "$base/mock/status" > /dev/null
[ "$(node wallet.mjs status "$cred")" = '{"status":1}' ] && ok "status 1 (revoked)" || ko "status 1"
curl -sf -X POST -d "{\"idx\": $idx, \"status\": 2}" "$base/mock/status" > /dev/null
[ "$(node wallet.mjs status "$cred")" = '{"status":2}' ] && ok "status 2 (suspended)" || ko "status 2"

# Refusals the wallet must surface as failures.
o="$(offer '{}')"
if node wallet.mjs pre-authorized "$(field "$o" offer_uri)" 000000 1 > /dev/null 2> "$log.err" \
  && [ "$(field "$o" tx_code)" != 000000 ]; then ko "wrong tx_code accepted"; else grep -q invalid_grant "$log.err" && ok "wrong tx_code: invalid_grant" || ko "wrong tx_code: $(cat "$log.err")"; fi
o="$(offer '{}')"
node wallet.mjs pre-authorized "$(field "$o" offer_uri)" "$(field "$o" tx_code)" 1 > /dev/null
if node wallet.mjs pre-authorized "$(field "$o" offer_uri)" "$(field "$o" tx_code)" 1 > /dev/null 2> "$log.err"; then ko "offer reused"; else ok "reused offer refused"; fi
if node wallet.mjs pre-authorized "$(field "$o" offer_uri)" "$(field "$o" tx_code)" 11 > /dev/null 2> "$log.err"; then ko "batch of 11 accepted"; else grep -q 'batch_size 10' "$log.err" && ok "batch of 11 over batch_size 10 refused by the wallet" || ko "batch 11: $(cat "$log.err")"; fi
rm -f "$log.err"

if [ -n "${MOCK_LOG:-}" ]; then cp "$log" "$MOCK_LOG"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
