#!/usr/bin/env bash
# checkov on the templates (the pipeline's SAM template, the workforce's): no failed check, and every suppressed one
# carries its reason in the template (Metadata.checkov.skip[].comment).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p local/.run
out=local/.run/checkov.json
.venv-checkov/bin/checkov -f infra/template.yaml infra/workforce.yaml --framework cloudformation --skip-download -o json >"$out" 2>/dev/null || true
.venv-checkov/bin/python - "$out" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    report = json.load(f)
results = report.get("results", {})
failed = results.get("failed_checks", [])
skipped = results.get("skipped_checks", [])
for f in failed:
    print(f"FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
bare = [s for s in skipped if len((s.get("check_result") or {}).get("suppress_comment") or "") < 20]
for s in bare:
    print(f"SUPPRESSED WITHOUT A REASON {s['check_id']} {s['resource']}")
summary = report.get("summary", {})
print(f"checkov: {summary.get('passed', 0)} passed, {len(failed)} failed, {len(skipped)} suppressed ({len(bare)} without a reason)")
if not summary or summary.get("parsing_errors"):
    print("checkov could not read the template")
    sys.exit(1)
sys.exit(1 if failed or bare else 0)
PY
