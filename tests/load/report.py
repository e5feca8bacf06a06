#!/usr/bin/env python3
"""Formats bench.sh's results as a table.

Usage: report.py RESULTS_DIR CORES KIND...

Reads sign.json and, for each KIND (sqlite, postgres), KIND-issue.json, KIND-revoke.json and
the CPU files bench.sh wrote; prints absolute rates, per-core rates and ratios to the one-thread
signing baseline.
"""

import json
import os
import platform
import sys
import time


def read_json(path):
    with open(path) as f:
        return json.load(f)


def cpu_seconds(path):
    """Seconds from a `ticks ticks_per_second` (server) or `user system` (client) file."""
    with open(path) as f:
        a, b = f.read().split()[:2]
    if path.endswith(".server-cpu"):
        return float(a) / float(b)
    return float(a) + float(b)


def main():
    results, cores, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    at = lambda name: os.path.join(results, name)
    sign = read_json(at("sign.json"))
    base = sign["per_sec"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')} - {cpu}, {cores} cores (shared by server and load client)")
    print(f"# baseline, one thread: {base:.0f} SD-JWT VC signatures/s, {sign['proof_checks_per_sec']:.0f} proof checks/s, "
          f"{sign['sign_and_check_per_sec']:.0f}/s doing both")
    print()
    header = ["db", "issued/s", "per core", "vs sign", "server CPU", "per server core-s", "vs sign+check",
              "client CPU", "p50 ms", "p99 ms", "failed", "revoked/s"]
    rows = []
    for kind in kinds:
        issue = read_json(at(f"{kind}-issue.json"))
        revoke = read_json(at(f"{kind}-revoke.json"))
        server_cpu = cpu_seconds(at(f"{kind}-issue.server-cpu"))
        client_cpu = cpu_seconds(at(f"{kind}-issue.client-cpu"))
        elapsed = issue["elapsed_secs"]
        rate = issue["per_sec"]
        per_core = rate / cores
        per_server_core = issue["done"] / server_cpu if server_cpu else float("nan")
        revoked = f"{revoke['per_sec']:.0f}" + ("" if not revoke["failed"] else f" ({revoke['failed']} failed)")
        if revoke.get("exhausted"):
            revoked += f" [all {revoke['listed']}]"
        rows.append([
            kind,
            f"{rate:.0f}",
            f"{per_core:.0f}",
            f"{per_core / base:.2f}",
            f"{server_cpu / elapsed:.2f} cores",
            f"{per_server_core:.0f}",
            f"{per_server_core / sign['sign_and_check_per_sec']:.2f}",
            f"{client_cpu / elapsed:.2f} cores",
            f"{issue['latency_ms']['p50']}",
            f"{issue['latency_ms']['p99']}",
            f"{issue['failed']}",
            revoked,
        ])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()
    print("issued/s: credentials received by the client per second, end to end (offer and token per worker,")
    print("  then nonce + proof + credential request each); per core = issued/s / cores; vs sign = per core /")
    print("  one-thread signing rate. server CPU: cores the server process kept busy; per server core-s =")
    print("  credentials per CPU-second the server spent; vs sign+check = that / the one-thread rate of signing")
    print("  and checking a proof (the crypto every credential needs). client CPU: what the load client took.")
    for kind in kinds:
        issue = read_json(at(f"{kind}-issue.json"))
        if issue["failures"]:
            print(f"{kind} failures: {issue['failures']}")


if __name__ == "__main__":
    main()
