# The measuring code of the comparison harness, sourced by run.sh (hello workloads)
# and db.sh (database workloads); see run.sh for the method.
#
# The caller sets, before calling anything here:
#   root here       the workspace root and benches/compare
#   SERVERS WORKLOADS CONNS DURATION WARMUP PAIRS WORKERS PROFILE DEPTH
#   SERVER_ENV      array of NAME=VALUE given to every server besides HOST/PORT/WORKERS
#   READY_PATH      the path polled until a server answers
# and defines:
#   bin_of NAME     the binary of a server
#   port_of NAME    its port
#   request_of W    sets req_path (and req_script, wrk's -s arguments) for workload W
#   extra_ticks NAME  optional: CPU ticks of something else to report beside the
#                   server (db.sh: its PostgreSQL backend); 0 when undefined
#   env_of NAME     optional: NAME=VALUE words given to that server only, after
#                   SERVER_ENV (run.sh: IO_URING=1 for armature-uring)
# Core layout: the servers on SERVER_CPU (1), wrk on LOAD_CPU (0).
# shellcheck shell=bash

SERVER_CPU="${SERVER_CPU:-1}"
LOAD_CPU="${LOAD_CPU:-0}"
out_dir="${out_dir:-$root/target/compare}"
logs="$out_dir/logs"
mkdir -p "$logs"
runs="$out_dir/runs.tsv"
: >"$runs"
[[ -v SERVER_ENV ]] || SERVER_ENV=()

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "'$tool' is required (apt-get install wrk util-linux curl python3)"
    done
}

declare -A PID
cleanup_servers() {
    local s
    for s in "${!PID[@]}"; do
        kill "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!PID[@]}"; do
        wait "${PID[$s]}" 2>/dev/null || true
    done
}
trap cleanup_servers EXIT
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
    local own=()
    if declare -F env_of >/dev/null; then read -r -a own <<<"$(env_of "$s")"; fi
    # taskset and env exec, so $! is the server's own pid.
    taskset -c "$SERVER_CPU" env HOST=127.0.0.1 PORT="$port" WORKERS="$WORKERS" "${SERVER_ENV[@]}" "${own[@]}" "$bin" \
        >"$logs/$s.server.log" 2>&1 &
    PID[$s]=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$(url "$s" "$READY_PATH")" && return 0
        kill -0 "${PID[$s]}" 2>/dev/null || die "$s exited at start-up: $(cat "$logs/$s.server.log")"
        sleep 0.1
    done
    die "$s did not answer on port $port within 10 s"
}

# The server's process and its direct children (a Node.js server in cluster mode is a
# primary and its workers; every other server is one process).
server_pids() {
    echo "$1"
    pgrep -P "$1" || true
}

# Every thread of every server process must stay on SERVER_CPU (some runtimes pin
# their own). The kernel's own spelling of the list (`0,1` reads back as `0-1`).
check_pinned() {
    local s bad want pid
    want="$(taskset -c "$SERVER_CPU" grep Cpus_allowed_list: /proc/self/status | cut -f2)"
    for s in $SERVERS; do
        bad="$(for pid in $(server_pids "${PID[$s]}"); do
            grep -h Cpus_allowed_list "/proc/$pid"/task/*/status
        done | grep -cv $'\t'"$want"'$' || true)"
        [[ "$bad" == 0 ]] || die "$s has $bad thread(s) not pinned to core(s) $want"
    done
}

# "utime stime" of the whole process (all threads), in clock ticks.
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")" || die "pid $1 is gone"
    # Fields after "(comm) ": state is 1, utime 12, stime 13.
    echo "${stat##*) }" | awk '{ print $12, $13 }'
}

# "utime stime" of a server, over server_pids.
server_ticks() {
    local pid t user=0 system=0
    for pid in $(server_pids "$1"); do
        read -r -a t <<<"$(cpu_ticks "$pid")"
        user=$((user + t[0])) system=$((system + t[1]))
    done
    echo "$user $system"
}

# Resident memory of a server in KiB, summed over server_pids: `rss_kib PID VmRSS`
# (now) or `rss_kib PID VmHWM` (the peak since reset_peak_rss; for a cluster the sum
# of each process's peak, an upper bound of the peak of the sum).
rss_kib() {
    local pid kib total=0
    for pid in $(server_pids "$1"); do
        kib="$(awk -v key="$2:" '$1 == key { print $2 }' "/proc/$pid/status")" || die "pid $pid is gone"
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

# Nanoseconds of CPU a server has run: the scheduler's own count (the first field of
# /proc/PID/task/TID/schedstat, summed over the threads of server_pids).
# /proc/PID/stat rounds to clock ticks (10 ms at each end of a run): a 5 s pipelined
# run of HttpArena's rust-epoll on a loaded machine used 0.19 s of CPU
# (2026-12-06-httparena.md), where that rounding alone is +-5%. summarize.py applies
# /proc/PID/stat's user/system split to this total.
server_cpu_ns() {
    local pid total=0 ns
    for pid in $(server_pids "$1"); do
        ns="$(awk '{ s += $1 } END { printf "%.0f", s }' "/proc/$pid"/task/*/schedstat 2>/dev/null || echo 0)"
        total=$((total + ns))
    done
    echo "$total"
}

# Starts each server process's peak RSS (VmHWM) again from its current RSS
# (`5` > /proc/PID/clear_refs, Linux 4.0+), so that the peak is the run's own.
reset_peak_rss() {
    local pid
    for pid in $(server_pids "$1"); do
        echo 5 >"/proc/$pid/clear_refs" || die "cannot reset the peak RSS of pid $pid"
    done
}

# measure <server> <workload> <conns> <seconds> <tag>  -> appends a line to runs.tsv
measure() {
    local s="$1" w="$2" c="$3" d="$4" tag="$5" log before after extra0 extra1 load1 rss0 peak ns0 ns1
    req_path="" req_script=()
    request_of "$w"
    log="$logs/$w-c$c-$s-$tag.txt"
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    extra0="$(extra_of "$s")"
    reset_peak_rss "${PID[$s]}"
    rss0="$(rss_kib "${PID[$s]}" VmRSS)"
    read -r -a before <<<"$(server_ticks "${PID[$s]}")"
    ns0="$(server_cpu_ns "${PID[$s]}")"
    local args=(-t1 -c"$c" -d"${d}s" --timeout 5s "${req_script[@]}" "$(url "$s" "$req_path")")
    [[ ${#req_script[@]} -gt 0 ]] && args+=(-- "$DEPTH")
    timeout $((d + 30)) taskset -c "$LOAD_CPU" wrk "${args[@]}" >"$log" 2>&1 || die "wrk failed: $(cat "$log")"
    ns1="$(server_cpu_ns "${PID[$s]}")"
    read -r -a after <<<"$(server_ticks "${PID[$s]}")"
    peak="$(rss_kib "${PID[$s]}" VmHWM)"
    extra1="$(extra_of "$s")"
    kill -0 "${PID[$s]}" 2>/dev/null || die "$s died during the run (see $logs/$s.server.log)"
    [[ "$tag" == warmup ]] && return 0
    local requests rps errors non2xx
    requests="$(awk '/requests in/ { print $1 }' "$log")"
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    errors="$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$log")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$log")"
    [[ -n "$requests" && -n "$rps" ]] || die "cannot read wrk output: $(cat "$log")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$c" "$s" "$tag" "$rps" "$requests" \
        "$((after[0] - before[0]))" "$((after[1] - before[1]))" "$((extra1 - extra0))" \
        "${errors:-0}" "${non2xx:-0}" "$d" "$load1" "$rss0" "$peak" "$((ns1 - ns0))" >>"$runs"
}

extra_of() {
    if declare -F extra_ticks >/dev/null; then extra_ticks "$1"; else echo 0; fi
}

# MAX_LOAD=x: wait up to 15 min for the 1-minute load average to drop below x.
wait_for_load() {
    [[ -n "${MAX_LOAD:-}" ]] || return 0
    for _ in $(seq 90); do
        awk -v max="$MAX_LOAD" '{ exit !($1 < max) }' /proc/loadavg && return 0
        echo "== load average $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD, waiting" >&2
        sleep 10
    done
}

# Per workload and connection count: a discarded warm-up per server, then PAIRS
# rounds alternating the servers; then the summary table.
measure_all() {
    local w c s p load load_after
    wait_for_load
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "== load average before: $load; $DURATION s runs, $WARMUP s warm-up, $PAIRS pairs, workers=$WORKERS" >&2
    for w in $WORKLOADS; do
        for c in $CONNS; do
            for s in $SERVERS; do
                echo "-- $w c=$c: warm-up $s" >&2
                measure "$s" "$w" "$c" "$WARMUP" warmup
            done
            check_pinned
            for p in $(seq "$PAIRS"); do
                for s in $SERVERS; do
                    echo "-- $w c=$c: pair $p $s" >&2
                    measure "$s" "$w" "$c" "$DURATION" "$p"
                done
            done
        done
    done
    load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
    python3 "$here/summarize.py" "$runs" "$out_dir/results.json" \
        --profile "$PROFILE" --workers "$WORKERS" --duration "$DURATION" --warmup "$WARMUP" \
        --pairs "$PAIRS" --depth "$DEPTH" --clk-tck "$(getconf CLK_TCK)" \
        --load-before "$load" --load-after "$load_after" ${EXTRA_LABEL:+--extra-label "$EXTRA_LABEL"}
}
