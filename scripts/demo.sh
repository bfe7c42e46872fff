#!/usr/bin/env bash
# The main job on the case it is for: a base trained on one class-biased part of Fashion-MNIST absorbs layers
# from zoo models of other widths trained on another part (zoo/splits), on the embedded engine (one process, no
# servers). The objective is the held-out set `mal data split` recreates (seeded: the files the zoo's models were
# split from); the summary measures the result and every baseline on the full test set.
# A rerun with the output folder in place resumes from its store; this demo starts clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh data
if [ ! -e out/demo-data/split.json ]; then
  node bin/mal.js data split fashion-mnist:train --parts 2 --bias 0.8 --holdout 2000 --seed 1 --out out/demo-data
fi
rm -rf out/demo
node bin/mal.js assemble examples/splits-plan.yaml
