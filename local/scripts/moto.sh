# Sourced by the test and demo scripts: start and stop a moto server from the
# project's venv on a free loopback port.
# After start_moto: HITLOOP_TEST_AWS_ENDPOINT (and MOTO_PID) are set.

RUN_DIR="${RUN_DIR:-local/.run}"

free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_http() { # url, seconds
  .venv/bin/python - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
}

start_moto() {
  mkdir -p "$RUN_DIR"
  local port
  port="$(free_port)"
  # our launcher: moto with DynamoDB requests serialised (see moto_server.py)
  .venv/bin/python local/python/moto_server.py -H 127.0.0.1 -p "$port" >"$RUN_DIR/moto.log" 2>&1 &
  MOTO_PID=$!
  export HITLOOP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  if ! wait_for_http "$HITLOOP_TEST_AWS_ENDPOINT/moto-api/" 30; then
    echo "moto server did not start; see $RUN_DIR/moto.log" >&2
    tail -20 "$RUN_DIR/moto.log" >&2 || true
    return 1
  fi
  echo "moto server at $HITLOOP_TEST_AWS_ENDPOINT (pid $MOTO_PID)"
}

stop_moto() {
  if [[ -n "${MOTO_PID:-}" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}
