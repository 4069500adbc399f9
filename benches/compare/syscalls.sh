#!/usr/bin/env bash
# Syscalls per request of Armature's hello on epoll and on io_uring: `strace -c -f`
# attached to the server for one wrk run per backend, workload and connection count.
# strace slows the server, so req/s here mean nothing; the count per request does.
#
#   benches/compare/syscalls.sh            (after run.sh with armature-uring built it,
#                                           or: cargo build --profile release-fat -p
#                                           armature-web --example hello --features io_uring)
# Environment: PROFILE [release-fat], PATHS [/plaintext /json], CONNS [64 256],
# DURATION [5] seconds per run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROFILE="${PROFILE:-release-fat}"
PATHS="${PATHS:-/plaintext /json}"
CONNS="${CONNS:-64 256}"
DURATION="${DURATION:-5}"
bin="$root/target/$PROFILE/examples/hello"
[[ -x "$bin" ]] || { echo "syscalls.sh: $bin is missing" >&2; exit 1; }
out="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$out"' EXIT
port=18090
printf '| backend | path | conns | requests | syscalls | syscalls/request | top syscalls (per request) |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for uring in 0 1; do
    backend=epoll
    [[ $uring == 1 ]] && backend=io_uring
    taskset -c 1 env HOST=127.0.0.1 PORT=$port WORKERS=1 IO_URING=$uring "$bin" >"$out/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.1; done
    for path in $PATHS; do
        for c in $CONNS; do
            strace -c -f -p "$pid" -o "$out/strace.txt" 2>/dev/null &
            spid=$!
            sleep 0.5
            taskset -c 0 wrk -t1 -c"$c" -d"${DURATION}s" "http://127.0.0.1:$port$path" >"$out/wrk.txt" 2>&1
            kill -INT "$spid"
            wait "$spid" 2>/dev/null || true
            reqs="$(awk '/requests in/ { print $1 }' "$out/wrk.txt")"
            calls="$(awk 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" { n += $4 } END { print n }' "$out/strace.txt")"
            top="$(awk -v r="$reqs" 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" { printf "%s %.2f, ", $NF, $4 / r }' "$out/strace.txt" | cut -c1-120)"
            printf '| %s | %s | %s | %s | %s | %.2f | %s |\n' "$backend" "$path" "$c" "$reqs" "$calls" \
                "$(echo "$calls / $reqs" | bc -l)" "${top%, }"
        done
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    grep -h "io_uring" "$out/server.log" >&2 || true
done
