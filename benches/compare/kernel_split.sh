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
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PROFILE="${PROFILE:-release-fat}"
PATHS="${PATHS:-/plaintext /json}"
CONNS="${CONNS:-64 256}"
DURATION="${DURATION:-6}"
FREQ="${FREQ:-999}"
# The harness's servers and start-up (lib.sh): hello on each backend, one worker.
SERVERS="armature armature-uring" WORKERS=1 READY_PATH=/plaintext
out_dir="$root/target/compare/kernel_split"
bin_of() { echo "$root/target/$PROFILE/examples/hello"; }
port_of() { case "$1" in armature) echo 18092 ;; armature-uring) echo 18093 ;; esac; }
env_of() { case "$1" in armature) echo IO_URING=0 ;; armature-uring) echo IO_URING=1 ;; esac; }
# shellcheck source=benches/compare/lib.sh
source "$here/lib.sh"
require_tools perf wrk taskset python3 curl
out="$out_dir"

printf '| backend | path | conns | req/s | CPU µs/req | send | recv | wait | backend | user | wait share |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for s in $SERVERS; do
    backend=epoll
    [[ $s == armature-uring ]] && backend=io_uring
    start_server "$s"
    pid=${PID[$s]}
    port=$(port_of "$s")
    if [[ $backend == io_uring ]] && grep -q "io_uring unavailable" "$logs/$s.server.log"; then
        die "the server fell back to epoll: $(cat "$logs/$s.server.log") (build hello with --features io_uring)"
    fi
    for path in $PATHS; do
        for c in $CONNS; do
            taskset -c "$LOAD_CPU" wrk -t1 -c"$c" -d"$((DURATION + 3))s" "http://127.0.0.1:$port$path" >"$out/wrk.txt" 2>&1 &
            wpid=$!
            sleep 2
            read -r u0 s0 < <(cpu_ticks "$pid")
            perf record -q -e cpu-clock -F "$FREQ" -g -p "$pid" -o "$out/perf.data" -- sleep "$DURATION" 2>/dev/null
            read -r u1 s1 < <(cpu_ticks "$pid")
            wait "$wpid"
            perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null >"$out/report.txt"
            rps="$(awk '/Requests\/sec/ { print $2 }' "$out/wrk.txt")"
            python3 - "$out/report.txt" "$rps" "$((u1 + s1 - u0 - s0))" "$(getconf CLK_TCK)" "$DURATION" \
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
    unset "PID[$s]"
done
