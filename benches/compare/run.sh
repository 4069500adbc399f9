#!/usr/bin/env bash
# Side-by-side throughput comparison: Armature's examples/hello.rs against its peers
# (benches/src/bin/*_hello.rs), following /work/shared/BENCHMARKING.md.
#
# Every server is built with the same cargo profile, pinned with `taskset -c 1`, and
# loaded by `taskset -c 0 wrk -t1` over 127.0.0.1. Per workload and connection count:
# a discarded warm-up per server, then PAIRS rounds alternating the servers
# (A B A B ...). Server CPU time (utime and stime from /proc/PID/stat, reported
# apart) is read before and after each run. A run with socket errors or non-2xx
# responses is void. The measuring code is lib.sh, shared with db.sh.
#
# Environment (defaults in brackets):
#   PROFILE   cargo profile for every server                 [release-fat]
#   SERVERS   servers to run, armature first                  [armature hyper axum actix minihttp]
#             (armature-uring: the same hello on the io_uring backend, IO_URING=1; listing
#             it builds hello with the io_uring feature, so both run the same binary;
#             armature-uring-base: the binary at BASE_BIN, also with IO_URING=1, e.g. a
#             build of the commit before a change, for its before/after in the same pairs;
#             armature-base: the binary at BASE_BIN on epoll, the same for the default backend)
#   WORKLOADS pipelined | plaintext | json                    [pipelined plaintext json]
#   CONNS     wrk connection counts                           [64]
#   DURATION  seconds per measured run                        [10]
#   WARMUP    seconds of discarded warm-up per server         [5]
#   PAIRS     measured rounds                                 [3]
#   DEPTH     pipelining depth                                [16]
#   WORKERS   worker threads of every server                  [1]
#   SHORT=1   smoke run: 1 s runs, 1 s warm-up, 1 pair
#   NO_BUILD=1 use the binaries already in target/PROFILE
#   MAX_LOAD  if set, wait (up to 15 min) until the 1-minute load average is below it
# Output: a markdown table on stdout, target/compare/results.json, raw wrk output
# in target/compare/logs/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

PROFILE="${PROFILE:-release-fat}"
SERVERS="${SERVERS:-armature hyper axum actix minihttp}"
WORKLOADS="${WORKLOADS:-pipelined plaintext json}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-5}"
PAIRS="${PAIRS:-3}"
DEPTH="${DEPTH:-16}"
WORKERS="${WORKERS:-1}"
if [[ "${SHORT:-0}" == 1 ]]; then
    DURATION=1 WARMUP=1 PAIRS=1
fi

READY_PATH=/plaintext
# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools wrk taskset curl python3

# name -> binary, port
bin_of() {
    case "$1" in
        armature | armature-uring) echo "$root/target/$PROFILE/examples/hello" ;;
        armature-base | armature-uring-base) echo "${BASE_BIN:?$1 needs BASE_BIN}" ;;
        hyper | axum | actix | minihttp) echo "$root/target/$PROFILE/${1}_hello" ;;
        *) die "unknown server '$1' (known: armature armature-base armature-uring armature-uring-base hyper axum actix minihttp)" ;;
    esac
}
port_of() {
    case "$1" in
        armature) echo 18080 ;; hyper) echo 18081 ;; axum) echo 18082 ;; actix) echo 18083 ;;
        minihttp) echo 18084 ;; armature-uring) echo 18085 ;; armature-uring-base) echo 18086 ;;
        armature-base) echo 18087 ;;
    esac
}
# The one binary, told which backend to run on.
env_of() {
    case "$1" in
        armature | armature-base) echo IO_URING=0 ;; armature-uring | armature-uring-base) echo IO_URING=1 ;;
    esac
}

# --- build ----------------------------------------------------------------------
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    echo "== building with profile $PROFILE" >&2
    features=()
    [[ " $SERVERS " == *" armature-uring "* ]] && features=(--features io_uring)
    cargo build --quiet --profile "$PROFILE" -p armature-web --example hello "${features[@]}"
    bins=()
    for s in $SERVERS; do
        [[ "$s" == armature* ]] || bins+=(--bin "${s}_hello")
    done
    if ((${#bins[@]})); then
        cargo build --quiet --profile "$PROFILE" -p armature-benches "${bins[@]}"
    fi
fi

request_of() {
    case "$1" in
        pipelined) req_path=/plaintext req_script=(-s "$here/pipeline.lua") ;;
        plaintext) req_path=/plaintext ;;
        json) req_path=/json ;;
        *) die "unknown workload '$1' (known: pipelined plaintext json)" ;;
    esac
}

# A response with the Date value blanked, header names and the reason phrase in
# lower case and headers sorted: the peers must send the same bytes as Armature up
# to those. may-minihttp hard-codes `Server: M`, the one difference allowed.
normalised() {
    local resp head body
    resp="$(curl -s -i --max-time 2 "$(url "$1" "$2")" | tr -d '\r')"
    head="${resp%%$'\n\n'*}"
    body="${resp#*$'\n\n'}"
    echo "${head%%$'\n'*}" | tr '[:upper:]' '[:lower:]'
    echo "${head#*$'\n'}" | sed -E 's/^([A-Za-z-]+):/\L\1:/; s/^date: .*/date: -/' |
        if [[ "$1" == minihttp ]]; then sed 's/^server: M$/server: armature/'; else cat; fi | sort
    echo
    echo "$body"
}

check_same_bytes() {
    local path ref got
    for path in /plaintext /json; do
        ref="$(normalised armature "$path")"
        [[ "$ref" == *"Hello, World!"* ]] || die "armature answers $path with: $ref"
        for s in $SERVERS; do
            got="$(normalised "$s" "$path")"
            if [[ "$got" != "$ref" ]]; then
                echo "== $s answers $path differently from armature:" >&2
                diff <(echo "$ref") <(echo "$got") >&2 || true
                die "responses differ"
            fi
        done
    done
}

for s in $SERVERS; do start_server "$s"; done
check_same_bytes
measure_all
