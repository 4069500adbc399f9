#!/usr/bin/env bash
# What TLS costs the server: CPU time per request (user and system, from
# /proc/PID/stat) of examples/tls (one worker, GET /plaintext) with a new connection,
# so a full handshake, per request (`Connection: close`), and over kept-alive TLS
# connections; beside examples/hello on plain TCP, with a connection per request and
# kept alive. wrk is the client (OpenSSL: TLS 1.3, X25519; the ECDSA P-256 test
# certificate), pinned to LOAD_CPU, the server to SERVER_CPU; ROUNDS rounds of
# DURATION seconds each, alternating the four cases.
#
#   cargo build --release -p armature-web --features tls --example tls --example hello
#   benches/compare/tls.sh            # ROUNDS=3 DURATION=5 CONNS=16
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release/examples}"
ROUNDS="${ROUNDS:-3}" DURATION="${DURATION:-5}" CONNS="${CONNS:-16}"
SERVER_CPU="${SERVER_CPU:-1}" LOAD_CPU="${LOAD_CPU:-0}"
for tool in wrk curl taskset; do
    command -v "$tool" >/dev/null || { echo "tls.sh: '$tool' is required" >&2; exit 1; }
done
for b in tls hello; do
    [[ -x "$bin/$b" ]] || { echo "tls.sh: $bin/$b is missing (see the header)" >&2; exit 1; }
done
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait' EXIT
start() { # name port
    taskset -c "$SERVER_CPU" env HOST=127.0.0.1 PORT="$2" WORKERS=1 "$bin/$1" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        curl -sk -o /dev/null --max-time 1 "$3" && return 0
        sleep 0.1
    done
    echo "tls.sh: $1 did not answer on $3" >&2
    exit 1
}
ticks() { local s; s="$(cat "/proc/$1/stat")"; echo "${s##*) }" | awk '{ print $12, $13 }'; }
tls_port=$((20000 + RANDOM % 20000)) plain_port=$((tls_port + 1))
start tls "$tls_port" "https://127.0.0.1:$tls_port/plaintext"
tls_pid=${pids[-1]}
start hello "$plain_port" "http://127.0.0.1:$plain_port/plaintext"
plain_pid=${pids[-1]}
hz=$(getconf CLK_TCK)
printf '%-28s %5s %10s %9s %9s %9s\n' case round req/s "user µs" "sys µs" "total µs"
for round in $(seq "$ROUNDS"); do
    for case in tls-handshake-per-request tls-keep-alive tcp-connection-per-request tcp-keep-alive; do
        case "$case" in
        tls-*) pid=$tls_pid url="https://127.0.0.1:$tls_port/plaintext" ;;
        *) pid=$plain_pid url="http://127.0.0.1:$plain_port/plaintext" ;;
        esac
        hdr=()
        [[ "$case" == *per-request ]] && hdr=(-H "Connection: close")
        read -r u0 s0 <<<"$(ticks "$pid")"
        out="$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "${hdr[@]}" "$url")"
        read -r u1 s1 <<<"$(ticks "$pid")"
        if grep -q "Non-2xx" <<<"$out"; then echo "void: $out" >&2; exit 1; fi
        n="$(awk '/requests in/ { print $1 }' <<<"$out")"
        rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
        awk -v c="$case" -v r="$round" -v rps="$rps" -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" \
            'BEGIN { printf "%-28s %5d %10.0f %9.1f %9.1f %9.1f\n", c, r, rps, u * 1e6 / hz / n, s * 1e6 / hz / n, (u + s) * 1e6 / hz / n }'
    done
done
