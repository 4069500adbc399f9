#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: a new cluster in a temp
# directory, listening on 127.0.0.1 at a free port, stopped and deleted after.
# The command sees ARMATURE_TEST_POSTGRES_URL (postgres://armature:armature@127.0.0.1:PORT/armature).
#
#   scripts/with-postgres.sh cargo test -p cargo-armature --test cli postgres
#
# Needs the PostgreSQL server binaries (Debian: `apt-get install postgresql`).
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
set -euo pipefail

bindir=""
for d in "${PG_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir="$d"; break; fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  bindir="$(dirname "$(command -v initdb)")"
fi
if [ -z "$bindir" ]; then
  echo "with-postgres.sh: no PostgreSQL server found (initdb, pg_ctl); install it: apt-get install postgresql" >&2
  exit 1
fi

dir="$(mktemp -d /tmp/armature-pg.XXXXXX)"
as=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
pwfile="$dir/pw"
echo armature > "$pwfile"
[ ${#as[@]} -eq 0 ] || chown postgres "$pwfile"

cleanup() {
  "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as[@]}" "$bindir/initdb" -D "$dir/data" -U armature --pwfile="$pwfile" -A scram-sha-256 \
  --auth-local=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
"${as[@]}" "$bindir/createdb" -h "$dir" -p "$port" -U armature armature

export ARMATURE_TEST_POSTGRES_URL="postgres://armature:armature@127.0.0.1:$port/armature"
echo "with-postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
"$@"
