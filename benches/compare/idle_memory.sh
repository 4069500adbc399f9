#!/usr/bin/env bash
# Memory per idle keep-alive connection, side by side: each server (one worker,
# pinned) gets N connections that each sent one request, read the answer and
# then sit idle; the server's resident memory (VmRSS, /proc/PID/status) is read
# before the connections open and again while they idle:
#   per connection = (RSS with N idle connections - RSS after one request) / N.
# Bounded: the connections are held HOLD seconds at most; everything started is stopped.
#
#   benches/compare/idle_memory.sh
#   N=2000 SERVERS="armature hyper" benches/compare/idle_memory.sh
#
# Environment: N [10000], SERVERS [armature hyper actix], PROFILE [release-fat],
# (armature-uring: hello on the io_uring backend, IO_URING=1; listing it builds hello
# with the io_uring feature),
# NO_BUILD=1 (use the binaries in target/PROFILE), HOLD [60], SETTLE seconds
# before reading RSS [2]. Needs python3; raises the open-file limit it needs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
N="${N:-10000}"
SERVERS="${SERVERS:-armature hyper actix}"
PROFILE="${PROFILE:-release-fat}"
HOLD="${HOLD:-60}"
SETTLE="${SETTLE:-2}"
die() { echo "idle_memory.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is required"

# The client needs N descriptors and a few; armature keeps at most half its soft
# descriptor limit in idle connections by default (ConnectionManagerConfig::
# max_idle_connections), so 2N lets all N stay open.
need=$((2 * N > N + 1024 ? 2 * N : N + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ] \
        || die "the open-file limit is $(ulimit -n), $need needed (raise the hard limit: ulimit -Hn)"
fi

bin_of() {
    case "$1" in
        armature | armature-uring) echo "$root/target/$PROFILE/examples/hello" ;;
        hyper | axum | actix | minihttp) echo "$root/target/$PROFILE/${1}_hello" ;;
        *) die "unknown server '$1'" ;;
    esac
}
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    features=()
    [[ " $SERVERS " == *" armature-uring "* ]] && features=(--features io_uring)
    cargo build --quiet --profile "$PROFILE" -p armature-web --example hello "${features[@]}"
    bins=()
    for s in $SERVERS; do [[ "$s" == armature* ]] || bins+=(--bin "${s}_hello"); done
    ((${#bins[@]})) && cargo build --quiet --profile "$PROFILE" -p armature-benches "${bins[@]}"
fi

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
port=18180
server=""
client=""
cleanup() {
    [ -z "$client" ] || kill "$client" 2>/dev/null || true
    [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
}
trap cleanup EXIT

printf '| server | RSS after 1 request | RSS with %s idle connections | per idle connection |\n| --- | ---: | ---: | ---: |\n' "$N"
for s in $SERVERS; do
    bin="$(bin_of "$s")"
    [ -x "$bin" ] || die "$bin is missing"
    port=$((port + 1))
    uring=0
    [[ "$s" == armature-uring ]] && uring=1
    taskset -c 1 env HOST=127.0.0.1 PORT="$port" WORKERS=1 IO_URING="$uring" "$bin" >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/plaintext" && break
        sleep 0.1
    done
    sleep "$SETTLE"
    before="$(rss_kib "$server")"
    coproc CLIENT { exec taskset -c 0 python3 "$here/idle_clients.py" 127.0.0.1 "$port" "$N" /plaintext "$HOLD"; }
    client=$CLIENT_PID
    read -r ready count <&"${CLIENT[0]}" || die "$s: the client failed"
    [ "$ready" = ready ] && [ "$count" = "$N" ] || die "$s: the client said '$ready $count'"
    sleep "$SETTLE"
    after="$(rss_kib "$server")"
    eval "exec ${CLIENT[1]}>&-"
    wait "$client" 2>/dev/null || true
    client=""
    kill "$server"; wait "$server" 2>/dev/null || true
    server=""
    python3 -c "b,a,n=$before,$after,$N; print(f'| {\"$s\"} | {b/1024:.1f} MiB | {a/1024:.1f} MiB | {(a-b)*1024/n/1024:.2f} KiB |')"
done
