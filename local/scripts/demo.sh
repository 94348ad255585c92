#!/usr/bin/env bash
# `make demo`: the blog's iris labeling job, fully local. Starts the
# MTurk-compatible service with a simulated crowd (two simulated minutes per
# second), runs the notebook against it, prints a summary, stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}"
RUN_DIR=local/.run
mkdir -p "$RUN_DIR"

echo "== building (the first build compiles the AWS SDK: a few minutes)"
cargo build --bin hitloop-mturk --locked

.venv/bin/python - > "$RUN_DIR/truth.csv" <<'PY'
import csv, sys
sys.path.insert(0, "examples/iris")
from notebook import iris_items
w = csv.writer(sys.stdout)
w.writerow(["key", "label"])
w.writerows(iris_items())
PY

"$CARGO_TARGET_DIR/debug/hitloop-mturk" --port 0 --speed 120 \
  --workforce local/mturk/workforces/iris.toml --truth "$RUN_DIR/truth.csv" \
  > "$RUN_DIR/mturk.url" 2> "$RUN_DIR/mturk.log" &
MTURK_PID=$!
trap 'kill $MTURK_PID 2>/dev/null || true; wait $MTURK_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s "$RUN_DIR/mturk.url" ]] && break; sleep 0.1; done
URL="$(head -1 "$RUN_DIR/mturk.url")"
echo "== MTurk-compatible service at $URL, crowd: local/mturk/workforces/iris.toml"
.venv/bin/python examples/iris/notebook.py "$URL"
