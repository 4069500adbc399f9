#!/usr/bin/env bash
# Memory under clients that pipeline and never read (issue 18): CONNS connections
# each send BURST bytes of pipelined `GET /todos?limit=100` (about 23 KiB a response)
# to benches' armature_todos (one worker) and read nothing. Reports the server's RSS
# at the start, its peak, whether the server closed the connections (after its write
# timeout), and RSS once the clients are gone. Bounded: HOLD + ~5 s.
#
#   benches/compare/hostile.sh
#   WRITE_TIMEOUT_MS=2000 HOLD=5 benches/compare/hostile.sh
#
# Environment: CONNS [20], BURST [65536], HOLD seconds [10], WRITE_TIMEOUT_MS [3000],
# MAX_PENDING_OUTPUT [ServerConfig's default], PROFILE [release], NO_BUILD=1,
# BIN (another build of armature_todos, e.g. one from an earlier commit; implies NO_BUILD).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
PROFILE="${PROFILE:-release}"
target="${CARGO_TARGET_DIR:-$root/target}"
if [[ "${NO_BUILD:-0}" != 1 && -z "${BIN:-}" ]]; then
    cargo build -q --profile "$PROFILE" -p armature-benches --bin armature_todos
fi
bin="${BIN:-$target/$PROFILE/armature_todos}"
port=$((20000 + RANDOM % 20000))
export WRITE_TIMEOUT_MS="${WRITE_TIMEOUT_MS:-3000}"
[[ -z "${MAX_PENDING_OUTPUT:-}" ]] || export MAX_PENDING_OUTPUT
PORT=$port WORKERS=1 "$bin" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/todos?limit=100" && break
    sleep 0.1
done
python3 "$here/hostile_pipeline.py" "$port" "$pid" "${CONNS:-20}" "${BURST:-65536}" \
    "/todos?limit=100" "${HOLD:-10}"
