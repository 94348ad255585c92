#!/usr/bin/env bash
# Replays the public crowd datasets (answers with true labels) through every
# decision policy: `hitloop replay` on each, the table to docs/bench/replay.txt
# and one JSON object per line to docs/bench/replay.jsonl. The datasets are
# not in this repository (their READMEs give their sources); pass the folder
# holding them. Usage: local/scripts/replay-datasets.sh DATASETS_DIR [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: $0 DATASETS_DIR [RUNS]}
runs=${2:-10}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}/release/hitloop
cargo build --release -q -p hitloop-local --bin hitloop
source local/scripts/public-datasets.sh
sets=("${public_datasets[@]}")
mkdir -p docs/bench
txt=docs/bench/replay.txt
jsonl=docs/bench/replay.jsonl
{
  echo "# local/scripts/replay-datasets.sh <datasets> $runs   ($(date -u +%F), $(nproc) cores, release build)"
  echo
} > "$txt"
: > "$jsonl"
for s in "${sets[@]}"; do
  read -r name answers truth <<< "$s"
  args=(replay --answers "$dir/$answers" --name "$name" --runs "$runs")
  [ "$truth" != - ] && args+=(--truth "$dir/$truth")
  echo "+ hitloop ${args[*]/#$dir\//}" | sed "s|$dir/||g" >> "$txt"
  "$bin" "${args[@]}" >> "$txt"
  echo >> "$txt"
  "$bin" "${args[@]}" --json >> "$jsonl"
done
cat "$txt"
