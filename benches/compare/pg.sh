# The local PostgreSQL of the database harnesses (db.sh, template.sh), sourced after
# lib.sh: its processes pinned to the load generator's core, and the CPU of the
# backend that serves each server, reported beside the server's, never added to it.
#
# The caller sets base_url (a postgres:// URL without parameters) and gives each
# server's connection application_name=<server>, then calls pin_postgres before and
# after starting the servers, find_backends after, and check_postgres_pinned.
# shellcheck shell=bash

psql_() { psql "$base_url" -X -q -v ON_ERROR_STOP=1 "$@"; }

data_dir="$(psql_ -At -c 'SHOW data_directory')"
postmaster="$(head -1 "$data_dir/postmaster.pid" 2>/dev/null)" ||
    die "cannot read $data_dir/postmaster.pid (PostgreSQL must run on this machine)"

# The postmaster and its children on LOAD_CPU; backends forked later inherit it.
pin_postgres() {
    local p
    for p in "$postmaster" $(pgrep -P "$postmaster"); do
        taskset -acp "$LOAD_CPU" "$p" >/dev/null
    done
}

check_postgres_pinned() {
    local p
    for p in "$postmaster" $(pgrep -P "$postmaster"); do
        if grep -h Cpus_allowed_list "/proc/$p"/task/*/status | grep -qv $'\t'"$LOAD_CPU"'$'; then
            die "PostgreSQL process $p is not pinned to core $LOAD_CPU"
        fi
    done
}

# The backends serving server s: its connections carry application_name=s.
backend_of() {
    psql_ -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"
}
# db.sh's servers hold exactly one connection each.
expect_one_backend() {
    local b
    b="$(backend_of "$1")"
    [[ "$b" =~ ^[0-9]+$ ]] ||
        die "$1: expected one PostgreSQL backend with application_name=$1, found '$b'"
}
# lib.sh's hook: CPU ticks of the server's backends now (0 for a server without any;
# a pool's connections are looked up at each call, as they open lazily).
extra_ticks() {
    local p t sum=0
    for p in $(backend_of "$1"); do
        read -r -a t <<<"$(cpu_ticks "$p")"
        sum=$((sum + t[0] + t[1]))
    done
    echo "$sum"
}
