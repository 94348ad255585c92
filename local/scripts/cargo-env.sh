# Sourced by the test and demo scripts: one target dir outside the clone, and
# one way of compiling the workspace's own crates, so that `make demo` after
# `make test` (or the other way round) rebuilds nothing.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}"

# clippy-driver compiles the workspace's crates (linting them, -D warnings)
# while cargo builds everything: the dependencies are compiled once, not once
# for `cargo clippy` (a check) and again for the build. This is how `cargo
# clippy` drives clippy-driver, with a build instead of a check. Without
# clippy installed, rustc builds (and `make test` says so).
if [[ -z "${RUSTC_WORKSPACE_WRAPPER:-}" ]]; then
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
fi
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
