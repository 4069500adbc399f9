#!/usr/bin/env bash
# Side-by-side throughput comparison: Armature's examples/hello.rs against its peers
# (benches/src/bin/*_hello.rs), following /work/shared/BENCHMARKING.md.
#
# Every server is built with the same cargo profile, pinned with `taskset -c 1`, and
# loaded by `taskset -c 0 wrk -t1` over 127.0.0.1. Per workload and connection count:
# a discarded warm-up per server, then PAIRS rounds alternating the servers
# (A B A B ...). Server CPU time (utime+stime from /proc/PID/stat) is read before
# and after each run. A run with socket errors or non-2xx responses is void.
#
# Environment (defaults in brackets):
#   PROFILE   cargo profile for every server                 [release-fat]
#   SERVERS   servers to run, armature first                  [armature hyper axum actix minihttp]
#             (armature-uring: the same hello on the io_uring backend, IO_URING=1; listing
#             it builds hello with the io_uring feature, so both run the same binary)
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

out_dir="$root/target/compare"
logs="$out_dir/logs"
mkdir -p "$logs"
runs="$out_dir/runs.tsv"
: >"$runs"

die() { echo "run.sh: $*" >&2; exit 1; }
for tool in wrk taskset curl python3; do
    command -v "$tool" >/dev/null || die "'$tool' is required (apt-get install wrk util-linux curl python3)"
done

# name -> binary, port
bin_of() {
    case "$1" in
        armature | armature-uring) echo "$root/target/$PROFILE/examples/hello" ;;
        hyper | axum | actix | minihttp) echo "$root/target/$PROFILE/${1}_hello" ;;
        *) die "unknown server '$1' (known: armature armature-uring hyper axum actix minihttp)" ;;
    esac
}
port_of() {
    case "$1" in
        armature) echo 18080 ;; hyper) echo 18081 ;; axum) echo 18082 ;; actix) echo 18083 ;;
        minihttp) echo 18084 ;; armature-uring) echo 18085 ;;
    esac
}

# --- build ----------------------------------------------------------------------
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    echo "== building with profile $PROFILE" >&2
    features=()
    [[ " $SERVERS " == *" armature-uring "* ]] && features=(--features io_uring)
    cargo build --quiet --profile "$PROFILE" -p armature-core --example hello "${features[@]}"
    bins=()
    for s in $SERVERS; do
        [[ "$s" == armature* ]] || bins+=(--bin "${s}_hello")
    done
    if ((${#bins[@]})); then
        cargo build --quiet --profile "$PROFILE" -p armature-benches "${bins[@]}"
    fi
fi

# --- servers ----------------------------------------------------------------------
declare -A PID
cleanup() {
    for s in "${!PID[@]}"; do
        kill "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!PID[@]}"; do
        wait "${PID[$s]}" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

url() { echo "http://127.0.0.1:$(port_of "$1")$2"; }

start_server() {
    local s="$1" bin port
    bin="$(bin_of "$s")"
    port="$(port_of "$s")"
    [[ -x "$bin" ]] || die "$bin is missing (build it, or drop '$s' from SERVERS)"
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
        die "port $port is already in use"
    fi
    # taskset and env exec, so $! is the server's own pid.
    local uring=0
    [[ "$s" == armature-uring ]] && uring=1
    taskset -c 1 env HOST=127.0.0.1 PORT="$port" WORKERS="$WORKERS" IO_URING="$uring" "$bin" >"$logs/$s.server.log" 2>&1 &
    PID[$s]=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$(url "$s" /plaintext)" && return 0
        kill -0 "${PID[$s]}" 2>/dev/null || die "$s exited at start-up: $(cat "$logs/$s.server.log")"
        sleep 0.1
    done
    die "$s did not answer on port $port within 10 s"
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

# Every thread of every server must stay on core 1 (some runtimes pin their own).
check_pinned() {
    local s bad
    for s in $SERVERS; do
        bad="$(grep -h Cpus_allowed_list "/proc/${PID[$s]}"/task/*/status | grep -cv $'\t1$' || true)"
        [[ "$bad" == 0 ]] || die "$s has $bad thread(s) not pinned to core 1"
    done
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

# utime+stime of the whole process (all threads), in clock ticks.
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")" || die "server pid $1 is gone"
    # Fields after "(comm) ": state is 1, utime 12, stime 13.
    echo "${stat##*) }" | awk '{ print $12 + $13 }'
}

# run <server> <workload> <conns> <seconds> <tag>  -> appends a line to runs.tsv
run() {
    local s="$1" w="$2" c="$3" d="$4" tag="$5" path script=() log before after
    case "$w" in
        pipelined) path=/plaintext script=(-s "$here/pipeline.lua") ;;
        plaintext) path=/plaintext ;;
        json) path=/json ;;
        *) die "unknown workload '$w' (known: pipelined plaintext json)" ;;
    esac
    log="$logs/$w-c$c-$s-$tag.txt"
    local load1
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    before="$(cpu_ticks "${PID[$s]}")"
    local args=(-t1 -c"$c" -d"${d}s" --timeout 5s "${script[@]}" "$(url "$s" "$path")")
    [[ "$w" == pipelined ]] && args+=(-- "$DEPTH")
    timeout $((d + 30)) taskset -c 0 wrk "${args[@]}" >"$log" 2>&1 || die "wrk failed: $(cat "$log")"
    after="$(cpu_ticks "${PID[$s]}")"
    kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run (see $logs/$s.server.log)"
    [[ "$tag" == warmup ]] && return 0
    local requests rps errors non2xx
    requests="$(awk '/requests in/ { print $1 }' "$log")"
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    errors="$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$log")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$log")"
    [[ -n "$requests" && -n "$rps" ]] || die "cannot read wrk output: $(cat "$log")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$s" "$tag" "$rps" "$requests" \
        "$((after - before))" "${errors:-0}" "${non2xx:-0}" "$d" "$load1" >>"$runs"
}

for s in $SERVERS; do start_server "$s"; done
check_same_bytes

if [[ -n "${MAX_LOAD:-}" ]]; then
    for _ in $(seq 90); do
        awk -v max="$MAX_LOAD" '{ exit !($1 < max) }' /proc/loadavg && break
        echo "== load average $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD, waiting" >&2
        sleep 10
    done
fi
load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load average before: $load; $DURATION s runs, $WARMUP s warm-up, $PAIRS pairs, workers=$WORKERS" >&2
for w in $WORKLOADS; do
    for c in $CONNS; do
        for s in $SERVERS; do
            echo "-- $w c=$c: warm-up $s" >&2
            run "$s" "$w" "$c" "$WARMUP" warmup
        done
        check_pinned
        for p in $(seq "$PAIRS"); do
            for s in $SERVERS; do
                echo "-- $w c=$c: pair $p $s" >&2
                run "$s" "$w" "$c" "$DURATION" "$p"
            done
        done
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 "$here/summarize.py" "$runs" "$out_dir/results.json" \
    --profile "$PROFILE" --workers "$WORKERS" --duration "$DURATION" --warmup "$WARMUP" \
    --pairs "$PAIRS" --depth "$DEPTH" --clk-tck "$(getconf CLK_TCK)" \
    --load-before "$load" --load-after "$load_after"
