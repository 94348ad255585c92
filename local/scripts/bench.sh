#!/usr/bin/env bash
# `make bench`: the ingest/publish benchmark against a local moto server.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}"
source local/scripts/moto.sh
cargo build --release --locked -p hitloop-local --bin hitloop-bench
start_moto
trap stop_moto EXIT
"$CARGO_TARGET_DIR/release/hitloop-bench" "$@"
