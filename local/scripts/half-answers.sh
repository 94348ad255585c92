#!/usr/bin/env bash
# The half-answers check (docs/quality.md): at one confidence target, on how
# many of the seven datasets does the replay reach the accuracy of majority
# vote over every recorded answer (ties at random) with at most half of those
# answers? Dog's and face's figures sit a few tenths of a point or answer from
# that line, and one replayed order's accuracy on dog moves by about 0.7 point,
# so the 40 orders of docs/bench/replay.txt cannot tell which side they are on:
# this runs RUNS orders per policy (default 1000: about half an hour on 2
# cores, web's 2,665 items most of it). Output: docs/bench/half-answers.txt.
# Usage: local/scripts/half-answers.sh DATASETS_DIR [RUNS] [TARGETS]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:?usage: $0 DATASETS_DIR [RUNS] [TARGETS]}
runs=${2:-1000}
targets=${3:-0.955,0.96,0.965}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/hitloop-target}/release/hitloop
cargo build --release -q -p hitloop-local --bin hitloop
# The seven datasets the goal is set on.
source local/scripts/public-datasets.sh
sets=("${public_datasets[@]:0:7}")
mkdir -p docs/bench
txt=docs/bench/half-answers.txt
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
{
  echo "# local/scripts/half-answers.sh <datasets> $runs $targets   ($(date -u +%F), $(nproc) cores, release build)"
  echo
} > "$txt"
for s in "${sets[@]}"; do
  read -r name answers truth <<< "$s"
  args=(replay --answers "$dir/$answers" --name "$name" --runs "$runs" --targets "$targets" --json)
  [ "$truth" != - ] && args+=(--truth "$dir/$truth")
  echo "+ hitloop ${args[*]}" | sed "s|$dir/||g" >> "$txt"
  "$bin" "${args[@]}" | tee -a "$lines" | grep -E '"policy":"(confidence|majority-of-all)"' >> "$txt"
done
# Each confidence row against its dataset's majority vote over every answer:
# reached when its accuracy is at least that vote's and it bought at most half
# the answers that vote used. Judged once; the table and the verdict read it.
judged=$(jq -cs '
  (map(select(.policy == "majority-of-all")) | map({(.dataset): .}) | add) as $all
  | .[] | select(.policy == "confidence")
  | . + {half: ($all[.dataset].labels_per_item / 2), bar: $all[.dataset].accuracy}
  | . + {reached: (.accuracy >= .bar and .labels_per_item <= .half)}
' "$lines")
{
  echo
  jq -rs '
    ["dataset", "target", "labels/item", "half of all", "accuracy", "majority of all", "reached"],
    (.[] | [.dataset, .target, .labels_per_item, .half, .accuracy, .bar, (if .reached then "yes" else "no" end)])
    | @tsv
  ' <<< "$judged" | column -t -s $'\t'
  echo
  jq -rs '
    group_by(.target)[] | .[0].target as $t | map(select(.reached))
    | "target \($t): reached on \(length) of 7 (\(map(.dataset) | join(", ")))"
  ' <<< "$judged"
} >> "$txt"
cat "$txt"
