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

echo "== format"
cargo fmt --all --check

# One compilation for clippy and the tests: clippy-driver compiles the
# workspace's own crates (linting them, -D warnings) while cargo builds
# everything for the tests, so the dependencies are compiled once, not once
# for `cargo clippy` (check) and again for the build. This is what `cargo
# clippy` does under the hood, with a build instead of a check.
export RUSTC_WORKSPACE_WRAPPER="${RUSTC_WORKSPACE_WRAPPER:-$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)}"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

echo "== build and lint (clippy)"
cargo test --workspace --all-targets --locked --no-run

echo "== cargo test"
cargo test --workspace --all-targets --locked

echo "== pytest"
export HITLOOP_MTURK_BIN="$CARGO_TARGET_DIR/debug/hitloop-mturk"
.venv/bin/python -m pytest tests/python -q -p no:cacheprovider
