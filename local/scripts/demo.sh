#!/usr/bin/env bash
# `make demo`: the AWS blog's iris job, the whole system on this machine.
# Starts the local stack (moto, the MTurk-compatible service with a simulated
# crowd of mixed quality, the functions, the local trainer), submits
# examples/iris/, follows it, exports the outputs, prints a summary and stops
# everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source local/scripts/cargo-env.sh
RUN_DIR=local/.run
STATE="$RUN_DIR/demo-stack.json"
export HITLOOP_LOCAL_STATE="$STATE"
mkdir -p "$RUN_DIR"

source local/scripts/local-stack.sh
start_local_stack "$RUN_DIR/demo-stack.log"

echo "== submitting examples/iris (150 flowers, 2 workers each, \$0.05 a HIT, two must agree)"
"$HITLOOP" submit examples/iris --job-id iris

# The same job decided by the worker model instead: one answer first, one
# more until the item's top label is 90 % sure given what the model knows of
# the workers who answered (docs/quality.md). No training for this one.
CONFIDENCE="$RUN_DIR/iris-confidence"
rm -rf "$CONFIDENCE" && mkdir -p "$CONFIDENCE"
cp examples/iris/template.html examples/iris/manifest.csv "$CONFIDENCE/"
.venv/bin/python - examples/iris/job.json "$CONFIDENCE/job.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
job["consensus"] = {"method": "confidence", "initial_assignments": 1, "target": 0.9}
job.pop("training")
json.dump(job, open(sys.argv[2], "w"), indent=2)
PY
echo "== submitting the same job with \"method\": \"confidence\" beside it (the worker model decides when an item is sure)"
"$HITLOOP" submit "$CONFIDENCE" --job-id iris-confidence

echo "== labeling, then training"
"$HITLOOP" status iris --watch --timeout 900 > "$RUN_DIR/demo-status.txt"
"$HITLOOP" status iris-confidence --watch --timeout 900 > "$RUN_DIR/demo-status-confidence.txt"

rm -rf "$RUN_DIR/iris-output"
"$HITLOOP" export iris "$RUN_DIR/iris-output" > /dev/null

echo
echo "== summary"
"$HITLOOP" status iris --truth examples/iris/truth.csv
echo "  the blog's estimate for this job: \$18-19 (150 HITs x 2 assignments x \$0.06, and extra assignments where workers disagree)"
echo
"$HITLOOP" status iris-confidence --truth examples/iris/truth.csv | tee "$RUN_DIR/demo-confidence.txt"
echo
echo "== the two rules on the same crowd"
for job in iris iris-confidence; do
  "$HITLOOP" status "$job" --json --truth examples/iris/truth.csv > "$RUN_DIR/demo-$job.json"
done
.venv/bin/python - "$RUN_DIR/demo-iris.json" "$RUN_DIR/demo-iris-confidence.json" <<'PY'
import json, re, sys
for path, name in zip(sys.argv[1:], ["two must agree (the blog's rule)", "confidence 0.9 (worker model)"]):
    text = open(path).read()
    summary = json.loads(text[: text.rindex("}") + 1])
    right = re.search(r"crowd accuracy: (\d+)/(\d+)", text)
    accuracy = f"{right.group(1)}/{right.group(2)} right" if right else "accuracy unknown"
    print(f"  {name:<34} ${summary['spent_usd']:>6} for {summary['answers']} answers, {accuracy}")
PY
echo "  outputs: $RUN_DIR/iris-output/ (labels.csv, manifest.jsonl, train/, test/, report.json, model/)"
STATUS="$("$HITLOOP" status iris --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
[[ "$STATUS" == "trained" ]] || { echo "the job ended $STATUS, not trained" >&2; exit 1; }
