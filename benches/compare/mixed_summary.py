#!/usr/bin/env python3
"""The table of benches/compare/mixed.sh from its runs file (one line per run).

    mixed_summary.py RUNS.tsv [CLK_TCK=100]

Per database, load and version: the median of its runs; max latency and /health
worst are of the worst run; "failed" sums socket errors and non-2xx answers
(such a run is void under BENCHMARKING.md's rule, and reported anyway).
"""
import statistics, sys
from collections import defaultdict

tick_us = 1e6 / int((sys.argv[2] if len(sys.argv) > 2 else 100))
groups = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    fields = line.rstrip("\n").split("\t")
    (label, db, load, rps, requests, p50, p99, mx, ut, st, pg, probe, load1, duration) = fields[:14]
    errors, non2xx = (int(fields[14]), int(fields[15])) if len(fields) > 15 else (0, 0)
    key = (db, load, label)
    if key not in groups:
        order.append(key)
    probe = dict(kv.split("=") for kv in probe.split())
    requests = int(requests)
    good = max(0, requests - non2xx) / float(duration)
    writes = {"mixed": 0.15, "write": 1.0}.get(load, 0.0) * good
    groups[key].append({
        "rps": float(rps), "p50": float(p50), "p99": float(p99), "max": float(mx),
        "h50": float(probe.get("p50_ms", "nan")), "h99": float(probe.get("p99_ms", "nan")),
        "hmax": float(probe.get("max_ms", "nan")), "hslow": int(probe.get("over_100ms", 0)),
        "hfail": int(probe.get("failed", 0)), "writes": writes,
        "user": int(ut) * tick_us / requests, "sys": int(st) * tick_us / requests,
        "pg": int(pg) * tick_us / requests, "load": float(load1),
        "failed": errors + non2xx,
    })

print("| db | load | version | req/s | p50 ms | p99 ms | max ms | /health p50 / p99 / worst ms (>100 ms, failed) | writes/s | user µs/req | sys µs/req | PostgreSQL µs/req | load avg | failed |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for key in order:
    runs = groups[key]
    med = lambda k: statistics.median(r[k] for r in runs)
    worst = max(r["hmax"] for r in runs)
    db, load, label = key
    pg = f"{med('pg'):.1f}" if db == "postgres" else "-"
    writes = f"{med('writes'):,.0f}" if load != "read" else "-"
    print(f"| {db} | {load} | {label} | {med('rps'):,.0f} | {med('p50'):.2f} | {med('p99'):.2f} | "
          f"{max(r['max'] for r in runs):.0f} | {med('h50'):.2f} / {med('h99'):.2f} / {worst:.1f} "
          f"({sum(r['hslow'] for r in runs)}, {sum(r['hfail'] for r in runs)}) | {writes} | "
          f"{med('user'):.2f} | {med('sys'):.2f} | {pg} | {med('load'):.2f} | "
          f"{sum(r['failed'] for r in runs) or ''}{' (void)' if any(r['failed'] for r in runs) else ''} |")
print()
print(f"Medians of {len(next(iter(groups.values())))} run(s) each (max and /health worst: the worst run); "
      "not pinned, default workers; the machine's other load is in the last column.")
