#!/usr/bin/env bash
# `make test`: every test, against real parts started here and stopped after.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Each phase says how long the run has taken so far.
phase() { echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"; }
source local/scripts/cargo-env.sh
source local/scripts/moto.sh

# The worker page's browser test drives Debian's Chromium through ChromeDriver.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  phase "installing Debian's chromium and chromium-driver (the worker page's browser test)"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get install -y -q chromium chromium-driver >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium chromium-driver >/dev/null; }
fi

start_moto
trap stop_moto EXIT

phase "lint: cfn-lint and checkov"
.venv/bin/cfn-lint infra/template.yaml infra/workforce.yaml
local/scripts/checkov.sh

phase "format"
cargo fmt --all --check

# One compilation for clippy and the tests (see cargo-env.sh).
[[ -n "$RUSTC_WORKSPACE_WRAPPER" ]] || { echo "make test needs clippy (rustup component add clippy)" >&2; exit 1; }
phase "build and lint (clippy)"
cargo test --workspace --all-targets --locked --no-run

phase "cargo test"
cargo test --workspace --all-targets --locked

# The workforce service's contract suite again, every engine behaviour on
# the DynamoDB store (moto) instead of the memory store (tests/common).
phase "cargo test: the workforce service on the DynamoDB store"
# Selected by target name within the workspace build: `-p hitloop-workforce`
# would resolve features anew and compile the SDK crates a second time.
workforce_tests=()
for f in workforce/tests/*.rs; do workforce_tests+=(--test "$(basename "$f" .rs)"); done
HITLOOP_WORKFORCE_STORE=dynamodb cargo test --workspace --locked "${workforce_tests[@]}"
# The pipeline's iris job against the service on DynamoDB: it ends as on the
# memory store ($19.86, 331 answers).
HITLOOP_WORKFORCE_STORE=dynamodb cargo test --workspace --locked --test pipeline the_iris_job

phase "pytest"
HITLOOP_MTURK_BIN="$CARGO_TARGET_DIR/debug/hitloop-mturk" \
  .venv/bin/python -m pytest tests/python -q -p no:cacheprovider

# The same boto3 suite against the service on a DynamoDB table (moto). Its
# crowd runs on a slower clock: each of its actions is several requests to
# moto, and the crowd must keep up with the clock (40 passed here; 120 did not).
phase "pytest: the workforce service on the DynamoDB store"
HITLOOP_MTURK_BIN="$CARGO_TARGET_DIR/debug/hitloop-mturk-dynamodb" HITLOOP_MTURK_SPEED=30 \
  HITLOOP_MTURK_ARGS="--table pytest-$$ --create-table --aws-endpoint $HITLOOP_TEST_AWS_ENDPOINT" \
  .venv/bin/python -m pytest tests/python -q -p no:cacheprovider
phase "done"
