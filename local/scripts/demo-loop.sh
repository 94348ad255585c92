#!/usr/bin/env bash
# `make demo-loop`: the tutorial's last steps and its next step, locally.
# Labels a third of iris with the simulated crowd, trains and deploys model 1,
# predicts the other flowers, sends the predictions it is unsure of back to
# the crowd, retrains with their labels (model 2, deployed in place of model
# 1), predicts the same flowers with model 2, compares both models with the
# true species and what each step cost, and tears everything down.
set -euo pipefail
cd "$(dirname "$0")/../.."
source local/scripts/cargo-env.sh
RUN_DIR=local/.run
STATE="$RUN_DIR/loop-stack.json"
export HITLOOP_LOCAL_STATE="$STATE"
mkdir -p "$RUN_DIR"

source local/scripts/local-stack.sh
start_local_stack "$RUN_DIR/loop-stack.log"

LOOP="$RUN_DIR/iris-loop"
rm -rf "$LOOP" "$RUN_DIR/iris-loop-output" && mkdir -p "$LOOP"
cp examples/iris/template.html "$LOOP/"
.venv/bin/python - examples/iris "$LOOP" <<'PY'
import csv, json, sys
src, out = sys.argv[1], sys.argv[2]
job = json.load(open(f"{src}/job.json"))
job["deploy"] = {}
job["verify"] = {"below": 0.9, "budget_usd": "8.00"}
json.dump(job, open(f"{out}/job.json", "w"), indent=2)
rows = list(csv.reader(open(f"{src}/manifest.csv")))
header, flowers = rows[0], rows[1:]
for name, keep in [("manifest.csv", lambda k: k % 3 == 0), ("rest.csv", lambda k: k % 3 != 0)]:
    with open(f"{out}/{name}", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(r for k, r in enumerate(flowers) if keep(k))
PY

echo "== labeling 50 of the 150 flowers (two workers must agree), then training and deploying model 1"
"$HITLOOP" submit "$LOOP" --job-id iris-loop
"$HITLOOP" status iris-loop --watch --timeout 900 > "$RUN_DIR/loop-status-1.txt"
"$HITLOOP" status iris-loop --json > "$RUN_DIR/loop-model-1.json"
grep -q '"status": "deployed"' "$RUN_DIR/loop-model-1.json" || { cat "$RUN_DIR/loop-model-1.json" >&2; exit 1; }

echo "== model 1 predicts the other 100; those below 90 % go to the crowd, and model 2 learns from their labels"
"$HITLOOP" predict iris-loop "$LOOP/rest.csv" --batch rest --watch --timeout 900 | tee "$RUN_DIR/loop-batch.txt"
"$HITLOOP" status iris-loop --watch --timeout 900 > "$RUN_DIR/loop-status-2.txt"
"$HITLOOP" status iris-loop --json > "$RUN_DIR/loop-model-2.json"
grep -q '"serving_version": 2' "$RUN_DIR/loop-model-2.json" || { cat "$RUN_DIR/loop-model-2.json" >&2; exit 1; }
VERIFICATION="$(sed -n 's/.*(verification job \(.*\))/\1/p' "$RUN_DIR/loop-batch.txt")"
"$HITLOOP" status "$VERIFICATION" --json > "$RUN_DIR/loop-verification.json"

echo "== model 2 predicts the same 100 (--no-verify: to measure it)"
"$HITLOOP" predict iris-loop "$LOOP/rest.csv" --batch rest-model-2 --no-verify --watch --timeout 900 > /dev/null
"$HITLOOP" export iris-loop "$RUN_DIR/iris-loop-output" > /dev/null

echo
echo "== summary"
.venv/bin/python - "$RUN_DIR" "$LOOP/rest.csv" examples/iris/truth.csv <<'PY'
import csv, json, sys
run, rest, truth_file = sys.argv[1:]
truth = {r["key"]: r["label"] for r in csv.DictReader(open(truth_file))}
species = {r["id"]: truth[r["image_url"]] for r in csv.DictReader(open(rest))}
def status(name):
    text = open(f"{run}/{name}").read()
    return json.loads(text[: text.rindex("}") + 1])
def right(path):
    rows = list(csv.DictReader(open(path)))
    return sum(species[r["id"]] == r["label"] for r in rows), len(rows), rows
out = f"{run}/iris-loop-output/predict"
m1, m2, v = status("loop-model-1.json"), status("loop-model-2.json"), status("loop-verification.json")
labeling = float(m1["spent_usd"])
print(f"  labeling 50 flowers:             ${labeling:.2f} ({m1['answers']} answers)")
held1 = (m1.get("model_metrics") or {}).get("test_accuracy")
held2 = (m2.get("model_metrics") or {}).get("test_accuracy")
r1, n, rows1 = right(f"{out}/rest/model-predictions.csv")
unsure = sum(float(r["probability"]) < 0.9 for r in rows1)
print(f"  model 1 on the other {n}:        {r1}/{n} right (held-out accuracy {held1})")
verified, _, rows = right(f"{out}/rest/predictions.csv")
people = sum(r["source"] == "people" for r in rows)
spent = float(v["spent_usd"])
print(f"  {unsure} unsure rows to the crowd:     ${spent:.2f} ({people} labeled); labeling all {n} would cost about ${labeling / 50 * n:.2f}")
print(f"  predictions after verification:  {verified}/{n} right")
r2, _, _ = right(f"{out}/rest-model-2/predictions.csv")
print(f"  model 2 (retrained with them):   {r2}/{n} right (held-out accuracy {held2})")
print(f"  money: ${labeling + spent:.2f} in all")
PY
echo
echo "== teardown"
"$HITLOOP" teardown iris-loop
echo "  outputs and predictions: $RUN_DIR/iris-loop-output/"
