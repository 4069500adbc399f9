#!/usr/bin/env bash
# Runs HttpArena's own validator (scripts/validate.sh and scripts/validate-ws.py of
# MDA2AV/HttpArena at HTTPARENA_COMMIT) against this entry, locally, without
# Docker. The validator is copied to a temp folder and patched there only where it
# reaches Docker, hosts or ports:
#   - `docker` is a no-op function (no image build, no container, no network);
#   - its `docker run ... $IMAGE_NAME` starts the entry's binary instead, with the
#     environment it would have given the container (-e DATABASE_URL, ...) and its
#     mounts as DATA_DIR/CERTS_DIR (HttpArena's data/ and certs/ in the temp copy);
#   - the Postgres sidecar is the server at ARMATURE_TEST_POSTGRES_URL, seeded in a
#     schema of its own with HttpArena's data/pgdb-seed.sql as its
#     scripts/generate-pgdb.py writes it (100,000 rows);
#   - the ports 8080 and 8081 are PORT [18480] and TLS_PORT [18481] (the entry is
#     given both; json-tls uses HttpArena's certs/ as its /certs mount).
# Every check is HttpArena's, unchanged. Without ARMATURE_TEST_POSTGRES_URL it runs
# itself under scripts/with-postgres.sh.
#
#   benches/httparena/validate-upstream.sh [OUTPUT]   (OUTPUT: a copy of the log)
#
# Environment: HTTPARENA_GIT [/work/.mirror/MDA2AV+HttpArena/repo],
# HTTPARENA_COMMIT [28606bafd5526c28b8438f630d7dca73b2869e28], PORT, TLS_PORT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -z "${ARMATURE_TEST_POSTGRES_URL:-}" ]]; then
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi

HTTPARENA_GIT="${HTTPARENA_GIT:-/work/.mirror/MDA2AV+HttpArena/repo}"
HTTPARENA_COMMIT="${HTTPARENA_COMMIT:-28606bafd5526c28b8438f630d7dca73b2869e28}"
PORT="${PORT:-18480}"
TLS_PORT="${TLS_PORT:-18481}"
output="${1:-}"

echo "== building the entry (release-fat, as its Dockerfile builds it)" >&2
(cd "$root" && cargo build --quiet --profile release-fat --locked -p armature-httparena)
bin="${CARGO_TARGET_DIR:-$root/target}/release-fat/armature-httparena"

tmp="$(mktemp -d /tmp/armature-validate.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
echo "== HttpArena $HTTPARENA_COMMIT in $tmp" >&2
mkdir -p "$tmp/scripts" "$tmp/data" "$tmp/frameworks/armature"
for d in data/static certs; do
    git -C "$HTTPARENA_GIT" archive --prefix="$d/" "$HTTPARENA_COMMIT:$d" | tar -x -C "$tmp"
done
for f in scripts/validate.sh scripts/validate-ws.py scripts/generate-pgdb.py data/dataset.json; do
    git -C "$HTTPARENA_GIT" show "$HTTPARENA_COMMIT:$f" >"$tmp/$f"
done
cp "$here/meta.json" "$tmp/frameworks/armature/meta.json"

echo "== seeding HttpArena's items table (generate-pgdb.py)" >&2
python3 "$tmp/scripts/generate-pgdb.py" "$tmp/data/dataset.json" "$tmp/data/pgdb-seed.sql" >&2
schema="arena_validate_$$"
psql -q -v ON_ERROR_STOP=1 "$ARMATURE_TEST_POSTGRES_URL" \
    -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema;" >&2
PGOPTIONS="-c search_path=$schema" psql -q -v ON_ERROR_STOP=1 "$ARMATURE_TEST_POSTGRES_URL" \
    -f "$tmp/data/pgdb-seed.sql" >&2
sep='?'
[[ "$ARMATURE_TEST_POSTGRES_URL" == *'?'* ]] && sep='&'
database_url="$ARMATURE_TEST_POSTGRES_URL${sep}options=-csearch_path%3D$schema"

echo "== patching the validator (Docker, hosts, ports)" >&2
python3 - "$tmp/scripts/validate.sh" "$PORT" "$TLS_PORT" "$bin" "$database_url" <<'EOF'
import sys
path, port, tls_port, binary, db_url = sys.argv[1:]
s = open(path).read()

def sub(old, new, count=1):
    global s
    if s.count(old) < 1:
        sys.exit(f"validate.sh has changed: {old!r} not found")
    s = s.replace(old, new, count)

sub("PORT=8080\n", f"PORT={port}\n")
sub("H1TLS_PORT=8081\n", f"H1TLS_PORT={tls_port}\n")
# No Docker: a no-op, and the entry as a local process.
sub('cleanup() {\n', 'docker() { :; }\ncleanup() {\n    [ -n "${ARENA_PID:-}" ] && kill "$ARENA_PID" 2>/dev/null || true\n')
start = s.index('    echo "[postgres] Starting Postgres sidecar for validation..."')
end = s.index('    docker_args+=(-e "DATABASE_URL=postgres://bench:bench@localhost:5432/benchmark")')
s = s[:start] + '    echo "[postgres] the seeded server of ARMATURE_TEST_POSTGRES_URL"\n' + s[end:]
sub('-e "DATABASE_URL=postgres://bench:bench@localhost:5432/benchmark"', f'-e "DATABASE_URL={db_url}"')
sub('    docker run "${docker_args[@]}" "$IMAGE_NAME"\n', f'''    arena_env=(HOST=127.0.0.1 PORT="$PORT" TLS_PORT="$H1TLS_PORT" DATA_DIR="$DATA_DIR" CERTS_DIR="$CERTS_DIR")
    for ((i = 0; i < ${{#docker_args[@]}}; i++)); do
        [ "${{docker_args[$i]}}" = -e ] && arena_env+=("${{docker_args[$((i + 1))]}}")
    done
    env "${{arena_env[@]}}" {binary} >"$ROOT_DIR/server.log" 2>&1 &
    ARENA_PID=$!
''')
open(path, "w").write(s)
EOF

echo "== validate.sh armature" >&2
log="$tmp/validate.log"
status=0
(cd "$tmp" && bash scripts/validate.sh armature) >"$log" 2>&1 || status=$?
cat "$log"
if [[ -n "$output" ]]; then
    {
        echo "# HttpArena's validate.sh ($HTTPARENA_COMMIT) against benches/httparena at"
        echo "# $(git -C "$root" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), run locally by"
        echo "# benches/httparena/validate-upstream.sh (Docker, hosts and ports patched only)"
        cat "$log"
    } >"$output"
fi
exit "$status"
