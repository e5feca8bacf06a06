#!/usr/bin/env python3
"""Checks that every credential a client received is recorded by the server.

Usage: check_received.py RECEIVED ROWS AGENCY

RECEIVED: SD-JWT VCs, one per line (what `llavero load issue --record` wrote).
ROWS: the server's `issued_credentials` rows as `list_id|idx|holder_thumbprint` lines.

A received credential is recorded when a row holds its status slot (`status.status_list`:
the list id is `{agency}/{n}` for a uri ending in `/{agency}/status/{n}`) and is bound to the
same holder key (the RFC 7638 thumbprint of its `cnf.jwk`), so the row is this credential and
not another that happens to share the slot. Prints `ok - …` / `not ok - …`; exit 1 on failure.
"""

import base64
import hashlib
import json
import sys


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(jwk):
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def slot(credential, agency):
    payload = json.loads(b64url_decode(credential.split("~", 1)[0].split(".")[1]))
    status = payload["status"]["status_list"]
    prefix, _, number = status["uri"].rpartition("/status/")
    if not prefix.endswith("/" + agency):
        raise ValueError(f"status uri {status['uri']} is not {agency}'s")
    return f"{agency}/{number}", int(status["idx"]), thumbprint(payload["cnf"]["jwk"])


def main():
    received_path, rows_path, agency = sys.argv[1:4]
    rows = {}
    with open(rows_path) as f:
        for line in f:
            if line.strip():
                list_id, idx, thumb = line.rstrip("\n").split("|")
                rows[(list_id, int(idx))] = thumb
    failed = False
    received = []
    with open(received_path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                received.append(slot(line, agency))
            except (ValueError, KeyError, IndexError) as e:
                print(f"not ok - line {number} of {received_path} is not a credential: {e}")
                failed = True
    missing = [r for r in received if (r[0], r[1]) not in rows]
    mismatched = [r for r in received if (r[0], r[1]) in rows and rows[(r[0], r[1])] != r[2]]
    slots = [(r[0], r[1]) for r in received]
    if missing:
        print(f"not ok - {len(missing)} of {len(received)} received credentials have no row, e.g. {missing[:3]}")
        failed = True
    else:
        print(f"ok - all {len(received)} received credentials are recorded")
    if mismatched:
        print(f"not ok - {len(mismatched)} received credentials share a slot with another holder's row, e.g. {mismatched[:3]}")
        failed = True
    else:
        print("ok - each received credential's row is bound to its holder key")
    if len(set(slots)) != len(slots):
        print(f"not ok - the client received {len(slots) - len(set(slots))} credentials in a slot already handed out")
        failed = True
    else:
        print("ok - no two received credentials share a status slot")
    unseen = len(rows) - len(set(slots) & set(rows))
    print(f"# {len(rows)} rows, {unseen} never reached the client (committed, then the server died before answering)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
