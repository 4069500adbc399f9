#!/usr/bin/env bash
# The `api` template's app under a production-like mixed load (issue 19): per 20
# requests 14 GET /todos/ID, 3 GET /todos?limit=20, 2 POST /todos, 1 PUT /todos/ID
# (70/15/10/5%), wrk -t1 -c64 (mixed.lua), the app with its default workers (one
# per core), while health_probe.py opens a new connection to GET /health every
# 50 ms as a Kubernetes probe does. The same with writes replaced by reads
# ("read") is the reference; "write" sends only the writes (2 POST : 1 PUT), the
# most durable writes per second. A benchmark, not a test: it reports, it asserts only
# that no request failed (non-2xx or socket errors void the run).
#
#   benches/compare/mixed.sh                          # the apps this checkout generates
#   VERSIONS="main=DIR this=" benches/compare/mixed.sh  # against apps generated elsewhere
#   SHORT=1 benches/compare/mixed.sh                  # smoke run: 3 s runs, 1 pair
#
# VERSIONS lists LABEL=DIR: DIR holds apps todo_sqlite and todo_postgres generated
# by some cargo-armature (e.g. `cargo-armature armature new todo_sqlite --template
# api --db sqlite --no-git` with the binary of another checkout); an empty DIR
# generates them with this checkout's cargo-armature into target/compare/mixed/apps/LABEL.
# Every app is built with PROFILE in one target directory and its binary copied
# to target/compare/mixed/bin/LABEL-DB.
#
# Not pinned: the apps run their default workers (2 on 2 cores), so the app, wrk
# and PostgreSQL share the cores; on a machine others load, the absolute numbers
# move from run to run: compare the versions within one run (they alternate).
# The request log is on (as a user runs the app), to a file; RUST_LOG=warn turns it off.
# SQLite: a new file per run in a temp directory (WAL, synchronous = FULL: every
# acknowledged write is on disk). PostgreSQL: a new schema per run on the server of
# ARMATURE_TEST_POSTGRES_URL, or a throwaway one (scripts/with-postgres.sh).
#
# Columns: req/s; latency p50/p99/max of wrk (ms); /health p50/p99/worst of the
# probe (ms) and probes over 100 ms; writes/s (POST and PUT answered 2xx: 15% of
# the requests of "mixed", all of "write", the cycle being fixed); the app's user and system CPU per
# request (µs, /proc/PID/stat over the measured run divided by wrk's requests);
# for PostgreSQL, the CPU of all its processes per request. A run with socket
# errors (wrk's 5 s timeout) or non-2xx answers is reported, marked void: the
# baseline fails this way; its writes/s then count only the 2xx.
# mixed_summary.py RUNS.tsv prints the table again from saved runs.
#
# Environment [default]: VERSIONS ["this="], SERVERS [sqlite postgres], LOADS
# [mixed read write], CONNS [64], DURATION [20], WARMUP [3], PAIRS [2], ITEMS [1000],
# WORKERS [unset: the app's default], PROFILE [release], NO_BUILD=1 (use the binaries
# in target/compare/mixed/bin), BUILD_ONLY=1.
# Output: the table on stdout, runs in target/compare/mixed/runs.tsv, logs beside.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

VERSIONS="${VERSIONS:-this=}"
SERVERS="${SERVERS:-sqlite postgres}"
LOADS="${LOADS:-mixed read write}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
PAIRS="${PAIRS:-2}"
ITEMS="${ITEMS:-1000}"
PROFILE="${PROFILE:-release}"
if [[ "${SHORT:-0}" == 1 ]]; then
    DURATION=3 WARMUP=1 PAIRS=1
fi
work="$root/target/compare/mixed"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
bins="$work/bin"
logs="$work/logs"

die() { echo "mixed.sh: $*" >&2; exit 1; }
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || die "'$tool' is required (apt-get install wrk curl python3)"
done

if [[ "${NO_BUILD:-0}" != 1 && -z "${MIXED_SH_BUILT:-}" ]]; then
    mkdir -p "$bins"
    cli=""
    for version in $VERSIONS; do
        label="${version%%=*}" dir="${version#*=}"
        if [[ -z "$dir" ]]; then
            if [[ -z "$cli" ]]; then
                echo "== building this checkout's cargo-armature" >&2
                cargo build --quiet -p cargo-armature
                cli="$CARGO_TARGET_DIR/debug/cargo-armature"
            fi
            dir="$work/apps/$label"
            rm -rf "$dir"
            mkdir -p "$dir"
            for db in $SERVERS; do
                (cd "$dir" && "$cli" armature new "todo_$db" --template api --db "$db" --no-git >/dev/null)
            done
        fi
        for db in $SERVERS; do
            echo "== building $label's todo_$db ($PROFILE)" >&2
            cargo build --quiet --offline --profile "$PROFILE" --manifest-path "$dir/todo_$db/Cargo.toml"
            cp "$CARGO_TARGET_DIR/$PROFILE/todo_$db" "$bins/$label-$db"
        done
    done
fi
[[ "${BUILD_ONLY:-0}" == 1 ]] && exit 0
if [[ " $SERVERS " == *" postgres "* && -z "${ARMATURE_TEST_POSTGRES_URL:-}" ]]; then
    MIXED_SH_BUILT=1 exec "$root/scripts/with-postgres.sh" "$here/mixed.sh" "$@"
fi

mkdir -p "$logs"
runs="$work/runs.tsv"
: >"$runs"
data="$(mktemp -d)"
pid=""
stop_app() {
    if [[ -n "$pid" ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
trap 'stop_app; rm -rf "$data"' EXIT
trap 'exit 130' INT TERM

clk_tck="$(getconf CLK_TCK)"
port=18097
base_url="${ARMATURE_TEST_POSTGRES_URL:-}"
base_url="${base_url%%\?*}"
psql_() { psql "$base_url" -X -q -v ON_ERROR_STOP=1 "$@"; }
postmaster=""
if [[ " $SERVERS " == *" postgres "* ]]; then
    command -v psql >/dev/null || die "'psql' is required (apt-get install postgresql-client)"
    postmaster="$(head -1 "$(psql_ -At -c 'SHOW data_directory')/postmaster.pid")" ||
        die "PostgreSQL must run on this machine (its CPU is measured)"
fi

# "utime stime" of a process, in clock ticks.
ticks() { awk '{ sub(/.*\) /, ""); print $12, $13 }' "/proc/$1/stat"; }
# utime+stime of every PostgreSQL process.
pg_ticks() {
    [[ -n "$postmaster" ]] || { echo 0; return; }
    local p sum=0 t
    for p in "$postmaster" $(pgrep -P "$postmaster"); do
        read -r -a t <<<"$(ticks "$p" 2>/dev/null || echo "0 0")"
        sum=$((sum + t[0] + t[1]))
    done
    echo "$sum"
}

# start_app LABEL DB RUN: a new database, the app on it, ITEMS items seeded.
start_app() {
    local label="$1" db="$2" run="$3" url
    case "$db" in
        sqlite) url="sqlite://$data/$run.db" ;;
        postgres)
            local schema="mixed_${run//-/_}"
            psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
            url="$base_url?options=-csearch_path%3D$schema&application_name=$label"
            ;;
    esac
    local env=(HOST=127.0.0.1 PORT="$port" DATABASE_URL="$url")
    [[ -n "${WORKERS:-}" ]] && env+=(WORKERS="$WORKERS")
    [[ -n "${RUST_LOG:-}" ]] && env+=(RUST_LOG="$RUST_LOG")
    env "${env[@]}" "$bins/$label-$db" >"$logs/$run.server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" && break
        kill -0 "$pid" 2>/dev/null || die "$label-$db exited at start-up: $(cat "$logs/$run.server.log")"
        sleep 0.1
    done
    python3 - "$port" "$ITEMS" <<'PY' || die "$label-$db: seeding failed"
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for i in range(int(sys.argv[2])):
    conn.request("POST", "/todos", body=b'{"title":"seeded"}', headers={"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 201, r.status
PY
}

# wrk's latency with its unit, in ms.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

# measure LABEL DB LOAD RUN
measure() {
    local label="$1" db="$2" load="$3" run="$4"
    local log="$logs/$run.wrk.txt" probe="$logs/$run.probe.txt"
    local wrk_args=(-t1 -c"$CONNS" --timeout 5s --latency -s "$here/mixed.lua")
    start_app "$label" "$db" "$run"
    timeout $((WARMUP + 30)) wrk "${wrk_args[@]}" -d"${WARMUP}s" "http://127.0.0.1:$port" -- "$ITEMS" "$load" >/dev/null
    local load1 before after pg0 pg1
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    python3 "$here/health_probe.py" 127.0.0.1 "$port" "$DURATION" >"$probe" &
    local probe_pid=$!
    read -r -a before <<<"$(ticks "$pid")"
    pg0="$(pg_ticks)"
    timeout $((DURATION + 30)) wrk "${wrk_args[@]}" -d"${DURATION}s" "http://127.0.0.1:$port" -- "$ITEMS" "$load" >"$log" 2>&1 ||
        die "wrk failed: $(cat "$log")"
    read -r -a after <<<"$(ticks "$pid")"
    pg1="$(pg_ticks)"
    wait "$probe_pid"
    kill -0 "$pid" 2>/dev/null || die "$label-$db died during the run (see $logs/$run.server.log)"
    stop_app
    local requests rps errors non2xx p50 p99 max
    requests="$(awk '/requests in/ { print $1 }' "$log")"
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$log")"
    errors="$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$log")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$log")"
    p50="$(ms "$(awk '$1 == "50%" { print $2 }' "$log")")"
    p99="$(ms "$(awk '$1 == "99%" { print $2 }' "$log")")"
    max="$(ms "$(awk '$1 == "Latency" && NF >= 5 { print $4; exit }' "$log")")"
    [[ -n "$requests" && -n "$rps" ]] || die "cannot read wrk output: $(cat "$log")"
    # A run with failures is kept (the baseline fails this way) and marked void.
    [[ "${errors:-0}" == 0 && "${non2xx:-0}" == 0 ]] ||
        echo "== $run: ${errors:-0} socket errors (timeouts over 5 s), ${non2xx:-0} non-2xx: void (see $log, $logs/$run.server.log)" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$db" "$load" "$rps" "$requests" \
        "$p50" "$p99" "$max" "$((after[0] - before[0]))" "$((after[1] - before[1]))" "$((pg1 - pg0))" \
        "$(cat "$probe")" "$load1" "$DURATION" "${errors:-0}" "${non2xx:-0}" >>"$runs"
}

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg); $DURATION s runs after $WARMUP s warm-up, $PAIRS pairs, c=$CONNS, workers ${WORKERS:-default}" >&2
n=0
for load in $LOADS; do
    for db in $SERVERS; do
        for pair in $(seq "$PAIRS"); do
            for version in $VERSIONS; do
                label="${version%%=*}"
                n=$((n + 1))
                echo "== $label $db $load (pair $pair)" >&2
                measure "$label" "$db" "$load" "$label-$db-$load-$n"
            done
        done
    done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 "$here/mixed_summary.py" "$runs" "$clk_tck"
