#!/usr/bin/env bash
# `make test`: every test, against real parts started here and stopped after.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}"
source local/scripts/moto.sh

# The worker page's browser test drives Debian's Chromium through ChromeDriver.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  echo "== installing Debian's chromium and chromium-driver (the worker page's browser test)"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get install -y -q chromium chromium-driver >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium chromium-driver >/dev/null; }
fi

start_moto
trap stop_moto EXIT

echo "== lint: cfn-lint and checkov"
.venv/bin/cfn-lint infra/template.yaml
local/scripts/checkov.sh

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build"
cargo build --workspace --bins --tests --locked

echo "== cargo test"
cargo test --workspace --locked

echo "== pytest"
export HITLOOP_MTURK_BIN="$CARGO_TARGET_DIR/debug/hitloop-mturk"
.venv/bin/python -m pytest tests/python -q -p no:cacheprovider
