#!/usr/bin/env bash
# Instructions per request of a running example under callgrind (repeatable on a busy
# machine, unlike req/s). Counters are zeroed after start-up and dumped after the load,
# so only the requests are counted; the figure is Ir / requests wrk reports.
#
#   scripts/instructions.sh BIN PATH [PIPELINE_DEPTH] [DURATION_S]
#   e.g. cargo build --profile release-fat -p armature-web --example hello
#        scripts/instructions.sh target/release-fat/examples/hello /plaintext 16
#        scripts/instructions.sh target/release-fat/examples/hello /json
#
# One worker (WORKERS=1), wrk -t1 -c16. Needs valgrind and wrk. KEEP=FILE keeps the
# callgrind dump of the load (for callgrind_annotate).
set -euo pipefail
BIN=$1
URLPATH=$2
DEPTH=${3:-1}
DURATION=${4:-4}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp "$OUT/cg.out.1" "$KEEP"; rm -rf "$OUT"' EXIT
PORT=$PORT WORKERS=1 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
  "$BIN" >/dev/null 2>"$OUT/valgrind.log" &
PID=$!
for _ in $(seq 1 200); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT$URLPATH" && break
  sleep 0.1
done
callgrind_control --zero "$PID" >/dev/null 2>&1
if [ "$DEPTH" -gt 1 ]; then
  WRK=$(wrk -t1 -c16 -d"${DURATION}s" -s benches/compare/pipeline.lua "http://127.0.0.1:$PORT$URLPATH" -- "$DEPTH")
else
  WRK=$(wrk -t1 -c16 -d"${DURATION}s" "http://127.0.0.1:$PORT$URLPATH")
fi
callgrind_control --dump "$PID" >/dev/null 2>&1
kill -TERM "$PID"
wait "$PID" || true
if echo "$WRK" | grep -qE "Non-2xx|Socket errors"; then
  echo "void run (errors):" >&2; echo "$WRK" >&2; exit 1
fi
REQS=$(echo "$WRK" | awk '/requests in/ {print $1}')
# cg.out.1: the dump taken right after the load (cg.out is the shutdown).
DUMP="$OUT/cg.out.1"
IR=$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
awk -v ir="$IR" -v n="$REQS" -v p="$URLPATH" -v d="$DEPTH" \
  'BEGIN { printf "%s depth %s: %d requests, %.1f instructions per request\n", p, d, n, ir / n }'
