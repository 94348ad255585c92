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
sets=(
  "bluebirds zheng_d_duck/answer.csv zheng_d_duck/truth.csv"
  "rte zhang2014_spectral/rte_crowd.txt zhang2014_spectral/rte_truth.txt"
  "temp snow2008/temp.standardized.tsv -"
  "wsd snow2008/wsd.standardized.tsv -"
  "dog zheng_s4_dog/answer.csv zheng_s4_dog/truth.csv"
  "web zhang2014_spectral/web_crowd.txt zhang2014_spectral/web_truth.txt"
  "face zheng_s4_face/answer.csv zheng_s4_face/truth.csv"
  "d_product zheng_d_jn-product/answer.csv zheng_d_jn-product/truth.csv"
  "trec zhang2014_spectral/trec_crowd.txt zhang2014_spectral/trec_truth.txt"
)
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
