#!/usr/bin/env bash
# Where does a request's time go? Builds examples/profiling_server with symbols,
# loads it with wrk on 127.0.0.1 (bounded: DURATION seconds per route), stops it
# with SIGTERM and prints the hottest functions.
#
#   scripts/profile.sh                 # perf when it can count cycles, else callgrind
#   TOOL=callgrind scripts/profile.sh  # instruction counts (repeatable on a busy machine)
#
# Needs wrk; perf (Debian's linux-perf) or valgrind. Output: target/profile/.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18280}
DURATION=${DURATION:-5}
OUT=target/profile
mkdir -p "$OUT"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
TOOL=${TOOL:-}
if [ -z "$TOOL" ]; then
  if command -v perf >/dev/null && perf stat -e cycles true >/dev/null 2>&1; then TOOL=perf
  elif command -v valgrind >/dev/null; then TOOL=callgrind
  else echo "neither perf (with cycle counting) nor valgrind is available" >&2; exit 1; fi
fi

CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release -p armature-core --example profiling_server
BIN=target/release/examples/profiling_server

case "$TOOL" in
  perf) PORT=$PORT WORKERS=1 perf record -g -o "$OUT/perf.data" "$BIN" >/dev/null & ;;
  callgrind) PORT=$PORT WORKERS=1 valgrind --tool=callgrind \
      --callgrind-out-file="$OUT/callgrind.out" "$BIN" >/dev/null 2>"$OUT/valgrind.log" & ;;
  *) echo "TOOL must be perf or callgrind" >&2; exit 1 ;;
esac
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done

cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":7,"items":["a","b","c"],"total_cents":1299}'
LUA
for path in /health /users/42 "/search?q=rust&limit=5"; do
  wrk -t1 -c16 -d"${DURATION}s" "http://127.0.0.1:$PORT$path" | grep -E "Requests/sec|Non-2xx|Socket errors" | sed "s|^|$path: |"
done
wrk -t1 -c16 -d"${DURATION}s" -s "$OUT/post.lua" "http://127.0.0.1:$PORT/orders" | grep -E "Requests/sec|Non-2xx|Socket errors" | sed "s|^|POST /orders: |"

kill -TERM $PID
wait $PID || true
trap - EXIT
case "$TOOL" in
  perf) perf report -i "$OUT/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null | head -60 ;;
  callgrind) callgrind_annotate "$OUT/callgrind.out" | head -40 ;;
esac
echo "profile data in $OUT/"
