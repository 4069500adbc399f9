#!/usr/bin/env python3
"""Summary of a run.sh comparison: a markdown table and a JSON file.

Input: runs.tsv lines `workload conns server pair req/s requests user_ticks
system_ticks extra_ticks socket_errors non2xx seconds load1 rss_before_kib
peak_rss_kib cpu_ns` (lib.sh's `measure`; the two RSS fields and cpu_ns are absent
from older files). With `cpu_ns` (the scheduler's nanosecond count, lib.sh's
`server_cpu_ns`) the server's CPU is that total, split into user and system as the
ticks split it; the ticks alone round to 1/CLK_TCK s at each end of a run. A `cpu_ns`
that the ticks contradict (a thread that ended during the run takes its time out of
the sum) is left for the ticks.
Per workload and connection count it reports the median req/s of each server, the
per-pair ratio armature/peer of req/s, the median server CPU microseconds per request
split into user and system, the per-pair ratio peer/armature of that CPU (both ratios
as median and min..max spread over the pairs; above 1 means Armature is ahead), and
with `--extra-label` the median CPU of what `extra_ticks` measured (db.sh: the
server's PostgreSQL backend) per request, and the median peak resident memory of
the server during a run (VmHWM, reset before each run). Void runs (socket errors or
non-2xx responses) are listed and left out of every figure.
"""

import argparse
import json
import statistics
import sys
from collections import defaultdict


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("json_out")
    for flag in ("profile", "load-before", "load-after"):
        ap.add_argument(f"--{flag}", required=True)
    for flag in ("workers", "duration", "warmup", "pairs", "depth", "clk-tck"):
        ap.add_argument(f"--{flag}", type=int, required=True)
    ap.add_argument("--extra-label", help="column title for extra_ticks (omitted if unset)")
    args = ap.parse_args()

    runs = []
    with open(args.runs) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            w, c, s, pair, rps, req, user, system, extra, errs, non2xx, secs, load1 = fields[:13]
            rss0, peak = (int(v) for v in fields[13:15]) if len(fields) >= 15 else (None, None)
            req = int(req)
            tick_us = 1e6 / args.clk_tck
            user_us, system_us = int(user) * tick_us, int(system) * tick_us
            cpu_ns = int(fields[15]) if len(fields) >= 16 else None
            # Each end rounds the ticks by up to one tick: beyond that (and 2%), the
            # two counts disagree, and the ticks are kept.
            ticks_us = user_us + system_us
            precise = cpu_ns is not None and abs(cpu_ns / 1e3 - ticks_us) <= 2 * tick_us + 0.02 * ticks_us
            if precise:
                total_us = cpu_ns / 1e3
                share = user_us / ticks_us if ticks_us else 0.0
                user_us, system_us = total_us * share, total_us * (1 - share)
            run = {
                "workload": w,
                "conns": int(c),
                "server": s,
                "pair": int(pair),
                "req_per_s": float(rps),
                "requests": req,
                "cpu_s": (user_us + system_us) / 1e6,
                "cpu_from": "schedstat" if precise else "ticks",
                "cpu_us_per_req": ((user_us + system_us) / req) if req else None,
                "user_us_per_req": (user_us / req) if req else None,
                "system_us_per_req": (system_us / req) if req else None,
                "extra_us_per_req": (int(extra) * tick_us / req) if req else None,
                "socket_errors": int(errs),
                "non_2xx": int(non2xx),
                "seconds": int(secs),
                "load1_before": float(load1),
                "rss_before_kib": rss0,
                "peak_rss_kib": peak,
            }
            run["void"] = run["socket_errors"] > 0 or run["non_2xx"] > 0 or req == 0
            runs.append(run)

    groups = defaultdict(list)
    order = []
    for r in runs:
        key = (r["workload"], r["conns"])
        if key not in groups:
            order.append(key)
        groups[key].append(r)

    summaries = []
    extra_col = f" {args.extra_label} µs/req |" if args.extra_label else ""
    lines = [
        "| workload | conns | server | req/s | req/s armature/peer per pair "
        "| CPU µs/req user | system | total | CPU peer/armature per pair |"
        f"{extra_col} peak RSS MiB | valid runs |",
        "|---|---:|---|---:|---|---:|---:|---:|---|" + ("---:|" if extra_col else "") + "---:|---:|",
    ]
    for key in order:
        rs = groups[key]
        servers = list(dict.fromkeys(r["server"] for r in rs))
        by_server = {s: [r for r in rs if r["server"] == s and not r["void"]] for s in servers}
        arm = {r["pair"]: r for r in by_server.get("armature", [])}
        for s in servers:
            valid = by_server[s]
            med = statistics.median(r["req_per_s"] for r in valid) if valid else None
            cpu = median_of(valid, "cpu_us_per_req")
            user = median_of(valid, "user_us_per_req")
            system = median_of(valid, "system_us_per_req")
            extra = median_of(valid, "extra_us_per_req")
            peak = median_of(valid, "peak_rss_kib")
            ratios = [arm[r["pair"]]["req_per_s"] / r["req_per_s"] for r in valid if r["pair"] in arm]
            cpu_ratios = [
                r["cpu_us_per_req"] / arm[r["pair"]]["cpu_us_per_req"]
                for r in valid
                if r["pair"] in arm and r["cpu_us_per_req"] and arm[r["pair"]]["cpu_us_per_req"]
            ]
            total = sum(1 for r in rs if r["server"] == s)
            summary = {
                "workload": key[0],
                "conns": key[1],
                "server": s,
                "median_req_per_s": med,
                "median_cpu_us_per_req": cpu,
                "median_user_us_per_req": user,
                "median_system_us_per_req": system,
                "median_extra_us_per_req": extra if args.extra_label else None,
                "median_peak_rss_kib": peak,
                "median_rss_before_kib": median_of(valid, "rss_before_kib"),
                "ratios_armature_over_peer": ratios if s != "armature" else None,
                "cpu_ratios_peer_over_armature": cpu_ratios if s != "armature" else None,
                "valid_runs": len(valid),
                "runs": total,
            }
            summaries.append(summary)
            peer = s != "armature"
            extra_txt = f" {fmt(extra, '{:.2f}')} |" if args.extra_label else ""
            lines.append(
                f"| {key[0]} | {key[1]} | {s} | {fmt(med, '{:,.0f}')} "
                f"| {spread(ratios if peer else [])} "
                f"| {fmt(user, '{:.2f}')} | {fmt(system, '{:.2f}')} | {fmt(cpu, '{:.2f}')} "
                f"| {spread(cpu_ratios if peer else [])} |{extra_txt} "
                f"{fmt(peak and peak / 1024, '{:.1f}')} | {len(valid)}/{total} |"
            )

    void = [r for r in runs if r["void"]]
    result = {
        "method": "benches/compare/lib.sh (run.sh, db.sh), /work/shared/BENCHMARKING.md",
        "profile": args.profile,
        "workers": args.workers,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "pairs": args.pairs,
        "pipeline_depth": args.depth,
        "load_before": args.load_before,
        "load_after": args.load_after,
        "summary": summaries,
        "runs": runs,
    }
    with open(args.json_out, "w") as f:
        json.dump(result, f, indent=2)

    print(
        f"Profile {args.profile}, {args.workers} worker(s) per server, {args.duration} s runs after a "
        f"{args.warmup} s warm-up, {args.pairs} alternating pairs, pipelining depth {args.depth}; "
        f"load average {args.load_before} before, {args.load_after} after."
    )
    print()
    print("\n".join(lines))
    from_ticks = [r for r in runs if r["cpu_from"] == "ticks"]
    if from_ticks:
        print()
        print(f"{len(from_ticks)} of {len(runs)} run(s) with CPU from clock ticks (1/{args.clk_tck} s), not schedstat.")
    if void:
        print()
        print(f"{len(void)} void run(s) (socket errors or non-2xx), left out:")
        for r in void:
            print(
                f"  {r['workload']} c={r['conns']} {r['server']} pair {r['pair']}: "
                f"{r['socket_errors']} socket errors, {r['non_2xx']} non-2xx"
            )
    print()
    print(f"JSON: {args.json_out}")
    return 0


def median_of(runs, field):
    values = [r[field] for r in runs if r[field] is not None]
    return statistics.median(values) if values else None


def spread(ratios):
    """`median (min..max)` of per-pair ratios, or a dash."""
    if not ratios:
        return "—"
    return f"{statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f})"


def fmt(v, spec):
    return "—" if v is None else spec.format(v)


if __name__ == "__main__":
    sys.exit(main())
