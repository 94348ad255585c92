# Sourced by the demos: builds the hitloop command and starts the local stack
# with the iris crowd (300 simulated seconds per real second: a 4-hour HIT
# lifetime is 48 s), stopped when the calling script exits.
# Needs RUN_DIR and STATE set; sets HITLOOP (the command) and UP_PID.

echo "== building (the first build compiles the AWS SDKs: several minutes)"
cargo build --bin hitloop --locked
HITLOOP="$CARGO_TARGET_DIR/debug/hitloop"

start_local_stack() {
  local log="$1"
  rm -f "$STATE"
  "$HITLOOP" local up --speed 300 --workforce workforce/workforces/iris.toml \
    --truth examples/iris/truth.csv > "$log" 2>&1 &
  UP_PID=$!
  trap stop_local_stack EXIT
  for _ in $(seq 300); do
    [[ -s "$STATE" ]] && break
    kill -0 "$UP_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s "$STATE" ]] || { echo "the local stack did not come up; see $log" >&2; exit 1; }
  sed -n '1,5p' "$log"
}

stop_local_stack() {
  kill -INT "$UP_PID" 2>/dev/null || true
  wait "$UP_PID" 2>/dev/null || true
}
