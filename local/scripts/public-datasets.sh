# The public crowd datasets (real answers with true labels) the replay
# benchmarks run on, as paths under the folder holding them: they are not in
# this repository (their READMEs give their sources). Sourced by
# replay-datasets.sh and half-answers.sh. Each: name, answers, truth ("-": in
# the answers file); the first seven are the ones the quality goals were set on.
# shellcheck disable=SC2034 # used by the scripts that source this
public_datasets=(
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
