"""Starts the MTurk-compatible service for the Python tests.

The tests themselves are plain boto3, as a notebook would write them: only
the endpoint URL says they are not talking to mturk-requester.us-east-1.
"""
import csv
import os
import pathlib
import secrets
import shlex
import subprocess

import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples/iris"))

from notebook import iris_items  # noqa: E402


def _binary():
    default = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug/hitloop-mturk"
    path = pathlib.Path(os.environ.get("HITLOOP_MTURK_BIN", default))
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `cargo build --bin hitloop-mturk` (make test does)")
    return path


@pytest.fixture(scope="session")
def iris():
    return iris_items()


@pytest.fixture(scope="session")
def mturk_credentials():
    """The requester key the service is started with: every request is
    signed with it and the service checks each signature."""
    return {"aws_access_key_id": "AKHLPYTEST" + secrets.token_hex(5).upper(),
            "aws_secret_access_key": secrets.token_urlsafe(30)}


@pytest.fixture(scope="session")
def mturk_endpoint(tmp_path_factory, iris, mturk_credentials):
    truth = tmp_path_factory.mktemp("truth") / "truth.csv"
    with open(truth, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["key", "label"])
        w.writerows(iris)
    # HITLOOP_MTURK_ARGS: what the binary needs besides (make test's DynamoDB
    # pass: hitloop-mturk-dynamodb with its table and the moto endpoint).
    extra = shlex.split(os.environ.get("HITLOOP_MTURK_ARGS", ""))
    proc = subprocess.Popen(
        [
            str(_binary()),
            *extra,
            "--port", "0",
            # two simulated minutes a second (HITLOOP_MTURK_SPEED: slower for
            # a store that answers slower, so the crowd keeps up with the clock)
            "--speed", os.environ.get("HITLOOP_MTURK_SPEED", "120"),
            "--workforce", str(ROOT / "workforce/workforces/iris.toml"),
            "--truth", str(truth),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        # In the environment, not on the command line, as a deployment would.
        env={**os.environ, "HITLOOP_MTURK_REQUESTER_KEY":
             f"{mturk_credentials['aws_access_key_id']}:{mturk_credentials['aws_secret_access_key']}"},
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        pytest.fail(f"hitloop-mturk did not print its URL (got {url!r})")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
