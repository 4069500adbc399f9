#!/usr/bin/env bash
# Where does a request's time go? The performance guide's profiling workflow:
# profile a server under load and write a flamegraph SVG.
#
#   scripts/profile.sh                  # build and start examples/profiling_server, load it
#                                       # with wrk, record, write target/profile/flamegraph.svg
#   PID=1234 scripts/profile.sh         # record a running server (any process) for DURATION s;
#                                       # you drive its load
#   TOOL=callgrind scripts/profile.sh   # instruction counts instead (repeatable on a busy
#                                       # machine): hottest functions, no SVG
#
# The flamegraph comes from `perf record -g` folded and drawn by inferno (from the
# crates registry: installed with `cargo install --locked inferno` when missing). perf
# samples on `cpu-clock` where the machine has no hardware cycle counter (VMs,
# containers), `cycles` where it has one. Needs perf (Debian: linux-perf) or, for
# TOOL=callgrind, valgrind; wrk unless PID is given. Output: target/profile/, with the
# hottest functions also in perf-report.txt (perf) or callgrind-summary.txt (callgrind).
# The server binary is wherever cargo builds it (CARGO_TARGET_DIR, `[build] target-dir`):
# its path is read from cargo's JSON messages.
#
# Environment: PORT [18280], DURATION seconds per route or of a PID recording [5],
# FREQ perf sampling frequency [999], OUT [target/profile].
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18280}
DURATION=${DURATION:-5}
FREQ=${FREQ:-999}
OUT=${OUT:-target/profile}
mkdir -p "$OUT"
die() { echo "profile.sh: $*" >&2; exit 1; }

TOOL=${TOOL:-perf}
case "$TOOL" in
  perf) command -v perf >/dev/null || die "perf is missing: apt-get install linux-perf (or TOOL=callgrind)" ;;
  callgrind) command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"
             [ -z "${PID:-}" ] || die "callgrind cannot attach to a running process; use TOOL=perf with PID" ;;
  *) die "TOOL must be perf or callgrind" ;;
esac

# perf: which event can sample here. `perf stat` exits 0 even for an event the
# machine lacks, so read what it printed.
event=cpu-clock
if [ "$TOOL" = perf ]; then
  if perf stat -e cycles true 2>&1 | grep -q "<not supported>"; then
    echo "no hardware cycle counter here: sampling on cpu-clock (a timer; works everywhere)"
  else
    event=cycles
  fi
  if ! command -v inferno-flamegraph >/dev/null || ! command -v inferno-collapse-perf >/dev/null; then
    echo "installing inferno (cargo install --locked inferno) for the flamegraph"
    cargo install --locked --quiet inferno || die "cannot install inferno; the profile is in $OUT/perf.data"
  fi
fi

flamegraph() {
  perf script -i "$OUT/perf.data" 2>/dev/null | inferno-collapse-perf > "$OUT/stacks.folded"
  [ -s "$OUT/stacks.folded" ] || die "perf recorded no samples (is the process busy? perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null))"
  inferno-flamegraph --title "$1" < "$OUT/stacks.folded" > "$OUT/flamegraph.svg"
  perf report -i "$OUT/perf.data" --no-children -g none --percent-limit 2 --stdio 2>/dev/null \
    | grep -v "^#" | grep -v "^$" | head -25 > "$OUT/perf-report.txt" || true
  cat "$OUT/perf-report.txt"
  echo "flamegraph: $(pwd)/$OUT/flamegraph.svg ($(wc -l < "$OUT/stacks.folded") distinct stacks)"
}

if [ -n "${PID:-}" ]; then
  [ -d "/proc/$PID" ] || die "no process $PID"
  echo "recording process $PID ($(tr '\0' ' ' < "/proc/$PID/cmdline" | cut -c1-80)) for ${DURATION}s on $event"
  perf record -e "$event" -F "$FREQ" -g -p "$PID" -o "$OUT/perf.data" -- sleep "$DURATION" 2>"$OUT/perf.log" \
    || { cat "$OUT/perf.log" >&2; die "perf record failed"; }
  flamegraph "process $PID"
  exit 0
fi

command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk"
command -v curl >/dev/null || die "curl is missing: apt-get install curl"
# The binary's path from cargo's `compiler-artifact` message (diagnostics still go to
# the terminal, rendered).
BIN=$(CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release -p armature-web --example profiling_server \
    --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*profiling_server\)".*/\1/p' | tail -n 1) \
  || die "cargo build failed"
[ -n "$BIN" ] && [ -x "$BIN" ] || die "cargo reported no profiling_server binary"
echo "server: $BIN"

case "$TOOL" in
  perf) PORT=$PORT WORKERS=1 perf record -e "$event" -F "$FREQ" -g -o "$OUT/perf.data" "$BIN" \
          >/dev/null 2>"$OUT/perf.log" & ;;
  callgrind) PORT=$PORT WORKERS=1 valgrind --tool=callgrind \
      --callgrind-out-file="$OUT/callgrind.out" "$BIN" >/dev/null 2>"$OUT/valgrind.log" & ;;
esac
RECORDER=$!
trap 'kill -TERM $RECORDER 2>/dev/null || true' EXIT
up=""
for _ in $(seq 1 150); do
  if curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || die "the server did not answer on 127.0.0.1:$PORT (see $OUT/*.log)"

cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":7,"items":["a","b","c"],"total_cents":1299}'
LUA
for path in /health /users/42 "/search?q=rust&limit=5"; do
  # `&` in a sed replacement is the match: escaped.
  wrk -t1 -c16 -d"${DURATION}s" "http://127.0.0.1:$PORT$path" | grep -E "Requests/sec|Non-2xx|Socket errors" | sed "s|^|${path//&/\\&}: |"
done
wrk -t1 -c16 -d"${DURATION}s" -s "$OUT/post.lua" "http://127.0.0.1:$PORT/orders" | grep -E "Requests/sec|Non-2xx|Socket errors" | sed "s|^|POST /orders: |"

# SIGTERM to the server (perf passes it on; valgrind's child is the server): it
# drains and exits, and the recorder writes its file.
kill -TERM $RECORDER
wait $RECORDER || true
trap - EXIT
case "$TOOL" in
  perf) flamegraph "examples/profiling_server under wrk" ;;
  # Written whole, then cut: `callgrind_annotate | head` ends in SIGPIPE, which
  # pipefail makes the script's exit status.
  callgrind) callgrind_annotate "$OUT/callgrind.out" > "$OUT/callgrind-annotate.txt"
             head -40 "$OUT/callgrind-annotate.txt" > "$OUT/callgrind-summary.txt"
             cat "$OUT/callgrind-summary.txt"
             echo "profile data in $OUT/callgrind.out, the hottest functions in $OUT/callgrind-summary.txt" ;;
esac
