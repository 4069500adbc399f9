#!/usr/bin/env bash
# Where a request's server CPU goes on epoll and on io_uring: `perf record -e cpu-clock
# -g` on Armature's hello under wrk, one recording per backend, path and connection
# count, split into the parts that decide what a backend can save:
#
#   send     tcp_sendmsg and below: the response's TCP send, including the loopback
#            delivery to wrk's socket that runs in the server's softirq
#   recv     tcp_recvmsg and below: the request's TCP receive
#   wait     how the thread sleeps and is woken: do_epoll_wait and below (tokio's
#            epoll_wait, on both backends), the ring's eventfd signal (io_uring only)
#   backend  the rest of the kernel: syscall entry, epoll's readiness checks, io_uring's
#            task work, poll wake-ups and submission
#   user     user space (parser, router, handler, encoder, tokio, the ring driver)
#
# in µs per request (share × CPU per request, both from the same window), and the wait
# path's share of the server's CPU: a backend that slept and woke for free would cost
# that much less (for io_uring, the most that waiting in io_uring_enter instead of
# tokio's epoll could save). perf's own sampling adds to every figure alike.
# Both backends pay send and recv alike; only backend, wait and user can differ.
# Runs are one after another, not alternated: compare ratios from run.sh's pairs.
#
#   benches/compare/kernel_split.sh    (needs hello built with --features io_uring, as
#                                       run.sh does when SERVERS lists armature-uring)
# Environment: PROFILE [release-fat], PATHS [/plaintext /json], CONNS [64 256],
# DURATION [6] seconds recorded per row (wrk runs 3 s longer), FREQ [999] Hz.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROFILE="${PROFILE:-release-fat}"
PATHS="${PATHS:-/plaintext /json}"
CONNS="${CONNS:-64 256}"
DURATION="${DURATION:-6}"
FREQ="${FREQ:-999}"
bin="$root/target/$PROFILE/examples/hello"
die() { echo "kernel_split.sh: $*" >&2; exit 1; }
[[ -x "$bin" ]] || die "$bin is missing"
for tool in perf wrk taskset python3 curl; do
    command -v "$tool" >/dev/null || die "'$tool' is required (apt-get install linux-perf wrk util-linux python3 curl)"
done
out="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$out"' EXIT
port=18092

# utime + stime of the server, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf '| backend | path | conns | req/s | CPU µs/req | send | recv | wait | backend | user | wait share |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for uring in 0 1; do
    backend=epoll
    [[ $uring == 1 ]] && backend=io_uring
    taskset -c 1 env HOST=127.0.0.1 PORT=$port WORKERS=1 IO_URING=$uring "$bin" >"$out/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.1; done
    if [[ $uring == 1 ]] && grep -q "io_uring unavailable" "$out/server.log"; then
        die "the server fell back to epoll: $(cat "$out/server.log") (build hello with --features io_uring)"
    fi
    for path in $PATHS; do
        for c in $CONNS; do
            taskset -c 0 wrk -t1 -c"$c" -d"$((DURATION + 3))s" "http://127.0.0.1:$port$path" >"$out/wrk.txt" 2>&1 &
            wpid=$!
            sleep 2
            t0=$(ticks "$pid")
            perf record -q -e cpu-clock -F "$FREQ" -g -p "$pid" -o "$out/perf.data" -- sleep "$DURATION" 2>/dev/null
            t1=$(ticks "$pid")
            wait "$wpid"
            perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null >"$out/report.txt"
            rps="$(awk '/Requests\/sec/ { print $2 }' "$out/wrk.txt")"
            python3 - "$out/report.txt" "$rps" "$((t1 - t0))" "$(getconf CLK_TCK)" "$DURATION" \
                "$backend" "$path" "$c" <<'EOF'
import re, sys
report, rps, ticks, hz, secs, backend, path, conns = sys.argv[1:]
children, own = {}, {}
for line in open(report):
    m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.*\S)", line)
    if m:
        children[m[4]] = float(m[1])
        own.setdefault(m[3], 0.0)
        own[m[3]] += float(m[2])
c = lambda s: children.get(s, 0.0)
# Disjoint parts: the wait path is never below tcp_sendmsg/tcp_recvmsg, and the
# eventfd signal is never below do_epoll_wait.
send, recv = c("tcp_sendmsg"), c("tcp_recvmsg")
wait = c("do_epoll_wait") + c("io_eventfd_signal")
user = own.get(".", 0.0)
kernel = 100.0 - user
rest = kernel - send - recv - wait
cpu = int(ticks) / int(hz) * 1e6 / (float(rps) * float(secs))
us = lambda p: f"{p / 100 * cpu:.2f}"
print(f"| {backend} | {path} | {conns} | {float(rps):,.0f} | {cpu:.2f} | {us(send)} | {us(recv)} "
      f"| {us(wait)} | {us(rest)} | {us(user)} | {wait:.1f}% |")
EOF
        done
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
