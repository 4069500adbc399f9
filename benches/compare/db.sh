#!/usr/bin/env bash
# TechEmpower's database workloads, side by side: Armature (benches/src/bin/armature_db.rs)
# against axum and actix-web (axum_db.rs, actix_db.rs), all on tokio-postgres with the
# same prepared statements and rendering (benches/src/db.rs), on one local PostgreSQL
# loaded with TechEmpower's schema and data (techempower.sql: World 10,000 rows,
# Fortune 12). Method: /work/shared/BENCHMARKING.md, measuring code shared with
# run.sh (lib.sh).
#
#   benches/compare/db.sh            # starts its own PostgreSQL (scripts/with-postgres.sh)
#   SHORT=1 benches/compare/db.sh    # smoke run: checks every route, 1 s runs
#
# Cores: each server on core 1 (`taskset -c 1`), wrk (`-t1`) and every PostgreSQL
# process on core 0 (the postmaster and its children are re-pinned with
# `taskset -acp 0`; backends forked later inherit it, and that is checked). Server CPU
# is utime/stime of the server process only, from /proc/PID/stat; the CPU of the
# server's own PostgreSQL backend (found by application_name in pg_stat_activity) is
# read the same way and reported in a column of its own, never added to the server's.
#
# Before measuring, dbcheck.py validates each server's answers: status, headers,
# JSON shapes and ranges, the q clamping, the fortunes page byte for byte against
# TechEmpower's expected page, and that /updates writes the rows.
#
# Environment (defaults in brackets):
#   PROFILE   cargo profile for every server                 [release-fat]
#   SERVERS   servers to run, armature first                  [armature axum actix]
#   WORKLOADS db | queries | fortunes | updates               [db queries fortunes updates]
#   QUERIES   q of /queries and /updates                      [20]
#   CONNS     wrk connection counts                           [64]
#   DURATION  seconds per measured run                        [10]
#   WARMUP    seconds of discarded warm-up per server         [5]
#   PAIRS     measured rounds                                 [3]
#   WORKERS   worker threads (= connections to PostgreSQL)    [1]
#   SHORT=1   smoke run: 1 s runs, 1 s warm-up, 1 pair
#   NO_BUILD=1 use the binaries already in target/PROFILE
#   MAX_LOAD  if set, wait (up to 15 min) until the 1-minute load average is below it
#   ARMATURE_TEST_POSTGRES_URL  use this PostgreSQL instead of starting one (it must be
#             local, since its processes are pinned; its tables world/fortune are replaced)
# Output: a markdown table on stdout, target/compare/db/results.json, raw wrk output in
# target/compare/db/logs/. Everything started is stopped on exit (Ctrl-C included).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

PROFILE="${PROFILE:-release-fat}"
SERVERS="${SERVERS:-armature axum actix}"
WORKLOADS="${WORKLOADS:-db queries fortunes updates}"
QUERIES="${QUERIES:-20}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-5}"
PAIRS="${PAIRS:-3}"
WORKERS="${WORKERS:-1}"
DEPTH=1
if [[ "${SHORT:-0}" == 1 ]]; then
    DURATION=1 WARMUP=1 PAIRS=1
fi

# Build first, outside the database's lifetime.
if [[ "${NO_BUILD:-0}" != 1 && -z "${DB_SH_BUILT:-}" ]]; then
    echo "== building with profile $PROFILE" >&2
    bins=()
    for s in $SERVERS; do bins+=(--bin "${s}_db"); done
    cargo build --quiet --profile "$PROFILE" -p armature-benches "${bins[@]}"
fi
if [[ -z "${ARMATURE_TEST_POSTGRES_URL:-}" ]]; then
    DB_SH_BUILT=1 exec "$root/scripts/with-postgres.sh" "$here/db.sh" "$@"
fi

out_dir="$root/target/compare/db"
READY_PATH=/db
EXTRA_LABEL="PostgreSQL backend"
# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools wrk taskset curl python3 psql

bin_of() {
    case "$1" in
        armature | axum | actix) echo "$root/target/$PROFILE/${1}_db" ;;
        *) die "unknown server '$1' (known: armature axum actix)" ;;
    esac
}
port_of() {
    case "$1" in
        armature) echo 18090 ;; axum) echo 18091 ;; actix) echo 18092 ;;
    esac
}
request_of() {
    case "$1" in
        db) req_path=/db ;;
        queries) req_path="/queries?q=$QUERIES" ;;
        fortunes) req_path=/fortunes ;;
        updates) req_path="/updates?q=$QUERIES" ;;
        *) die "unknown workload '$1' (known: db queries fortunes updates)" ;;
    esac
}

base_url="${ARMATURE_TEST_POSTGRES_URL%%\?*}"
psql_() { psql "$base_url" -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- the data ---------------------------------------------------------------------
echo "== loading TechEmpower's schema and data" >&2
psql_ -f "$here/techempower.sql" >"$logs/load.log" 2>&1 || die "loading failed: $(cat "$logs/load.log")"
# As TechEmpower's PostgreSQL configuration: commits do not wait for the WAL flush
# (else /updates measures this machine's disk).
psql_ -c "ALTER DATABASE \"${base_url##*/}\" SET synchronous_commit TO off"
[[ "$(psql_ -At -c 'SELECT count(*) FROM world')" == 10000 ]] || die "World is not 10,000 rows"
[[ "$(psql_ -At -c 'SELECT count(*) FROM fortune')" == 12 ]] || die "Fortune is not 12 rows"

# --- PostgreSQL on the load generator's core -------------------------------------------
data_dir="$(psql_ -At -c 'SHOW data_directory')"
postmaster="$(head -1 "$data_dir/postmaster.pid" 2>/dev/null)" ||
    die "cannot read $data_dir/postmaster.pid (PostgreSQL must run on this machine)"
pin_postgres() {
    local p
    for p in "$postmaster" $(pgrep -P "$postmaster"); do
        taskset -acp "$LOAD_CPU" "$p" >/dev/null
    done
}
pin_postgres

# The backend serving server s: its connection carries application_name=s.
declare -A BACKEND
backend_of() {
    psql_ -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"
}
extra_ticks() {
    local t
    read -r -a t <<<"$(cpu_ticks "${BACKEND[$1]}")"
    echo $((t[0] + t[1]))
}

# --- servers ----------------------------------------------------------------------
for s in $SERVERS; do
    SERVER_ENV=("DATABASE_URL=$base_url?application_name=$s")
    start_server "$s"
    BACKEND[$s]="$(backend_of "$s")"
    [[ "${BACKEND[$s]}" =~ ^[0-9]+$ ]] ||
        die "$s: expected one PostgreSQL backend with application_name=$s, found '${BACKEND[$s]}'"
done
pin_postgres
for p in "$postmaster" $(pgrep -P "$postmaster"); do
    if grep -h Cpus_allowed_list "/proc/$p"/task/*/status | grep -qv $'\t'"$LOAD_CPU"'$'; then
        die "PostgreSQL process $p is not pinned to core $LOAD_CPU"
    fi
done

for s in $SERVERS; do
    python3 "$here/dbcheck.py" "$(url "$s" "")" "$base_url" >"$logs/$s.check.log" 2>&1 ||
        die "$s answers wrongly: $(cat "$logs/$s.check.log")"
    echo "== $s: $(tail -1 "$logs/$s.check.log")" >&2
done

measure_all
echo
echo "PostgreSQL $(psql_ -At -c 'SHOW server_version') on core $LOAD_CPU with wrk; servers on core $SERVER_CPU; q=$QUERIES."
