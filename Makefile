# The two commands a newcomer runs: `make demo` and `make test`.
SHELL := /bin/bash
# One target dir outside the clone, reused between runs (never exported
# around `sam build`, which needs its own).
CARGO_TARGET_DIR ?= $(HOME)/.cache/hitloop-target
export CARGO_TARGET_DIR
VENV := .venv

.PHONY: demo demo-loop test venv build up mturk bench bench-collect bench-cold-start bench-workforce bench-stream bench-refit screenshots clean-run

## demo: the whole job, locally, then the loop after it (see README)
demo: venv
	local/scripts/demo.sh
	local/scripts/demo-loop.sh

## demo-loop: label part of iris, train, deploy, predict the rest, verify the unsure with the crowd, retrain, tear down
demo-loop: venv
	local/scripts/demo-loop.sh

## test: every test against moto server and the MTurk-compatible service
test: venv
	local/scripts/test.sh

## screenshots: the worker site's pages, taken by the browser tests, into docs/screenshots/
screenshots: venv
	mkdir -p docs/screenshots
	source local/scripts/moto.sh && start_moto && trap stop_moto EXIT && \
	  HITLOOP_SCREENSHOTS=docs/screenshots cargo test --locked -p hitloop-tests --test worker_people --test worker_page

## venv: the Python tools the tests and the local stack use (moto, boto3, cfn-lint;
## checkov in a venv of its own, since it pins another boto3)
venv: $(VENV)/.installed .venv-checkov/.installed

$(VENV)/.installed: local/python/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r local/python/requirements.txt
	touch $@

.venv-checkov/.installed: local/python/requirements-checkov.txt
	python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r local/python/requirements-checkov.txt
	touch $@

## bench: ingest 10k and 200k rows against the local stack; peak memory and throughput
bench: venv
	local/scripts/bench.sh ingest

## bench-collect: collect's AWS calls and CPU per notification on a 200-item iris job
bench-collect: venv
	local/scripts/bench.sh collect

## bench-cold-start: each function's release binary size and cold start
bench-cold-start:
	local/scripts/bench.sh cold-start

## bench-workforce: the MTurk-compatible service's requests/s and p50/p99 latency per operation
bench-workforce:
	local/scripts/bench.sh workforce

## bench-refit: a confidence job's refit: DynamoDB reads against job size (10k, 100k, 1M answers)
bench-refit: venv
	local/scripts/bench.sh refit

## bench-stream: the worker site's labeling stream: HTTP requests and time from a submit to the next task
bench-stream:
	local/scripts/bench.sh stream

## build: every binary, compiled as make test and make demo compile them (see local/scripts/cargo-env.sh)
build:
	source local/scripts/cargo-env.sh && cargo build --workspace --bins --locked

## up: the local stack (moto, the MTurk-compatible service, the functions, the trainer) until Ctrl-C
up: venv
	source local/scripts/cargo-env.sh && cargo build --bin hitloop --locked
	$(CARGO_TARGET_DIR)/debug/hitloop local up

## mturk: run the MTurk-compatible service with the iris crowd, a minute a second
mturk:
	source local/scripts/cargo-env.sh && cargo run --locked --bin hitloop-mturk -- --port 8443 --speed 60 --no-auth --workforce workforce/workforces/iris.toml

clean-run:
	rm -rf local/.run
