#!/usr/bin/env bash
# The benchmarks, on the release build:
#   make bench              ingest and publish at scale (10k and 200k rows)
#   make bench-collect      collect's calls and CPU per notification (200-item iris job)
#   make bench-cold-start   each function's binary size and cold start
#   make bench-workforce    the MTurk-compatible service: requests/s, p50/p99 per operation
#   make bench-stream       the worker site's labeling stream: requests and time per task
#   make bench-refit        a confidence job's refit: DynamoDB reads against job size
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}"
source local/scripts/moto.sh
what="${1:-ingest}"
shift || true
BENCH="$CARGO_TARGET_DIR/release/hitloop-bench"
FUNCTIONS=(-p ingest -p publish -p collect -p sweep -p train)
cargo build --release --locked -p hitloop-local --bin hitloop-bench
case "$what" in
  ingest)
    start_moto
    trap stop_moto EXIT
    "$BENCH" ingest "$@"
    ;;
  collect)
    cargo build --release --locked "${FUNCTIONS[@]}"
    start_moto
    trap stop_moto EXIT
    "$BENCH" collect --binary "$CARGO_TARGET_DIR/release/collect" "$@"
    ;;
  workforce)
    start_moto
    trap stop_moto EXIT
    "$BENCH" workforce "$@"
    ;;
  stream)
    start_moto
    trap stop_moto EXIT
    "$BENCH" stream "$@"
    ;;
  refit)
    start_moto
    trap stop_moto EXIT
    "$BENCH" refit "$@"
    ;;
  cold-start)
    cargo build --release --locked "${FUNCTIONS[@]}" -p workforce-api -p workforce-pass
    cargo build --release --locked -p workforce-api --example lambda-http-hello
    "$BENCH" cold-start --binaries "$CARGO_TARGET_DIR/release" "$@"
    ;;
  *)
    echo "bench.sh: ingest, collect, cold-start, workforce or stream" >&2
    exit 2
    ;;
esac
