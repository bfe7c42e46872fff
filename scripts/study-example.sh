#!/usr/bin/env bash
# `npm run study`: the example study (examples/study.yaml). Makes the class-biased split of Fashion-MNIST its
# zoo trains on (once), then runs `mal study`, which trains the zoo grid (models already in out/study-zoo are
# kept) and measures the cells out/study/cells does not hold yet: a killed run resumes where it stopped.
# Extra arguments go to `mal study` (e.g. --threads 1). Set MAL to run another `mal` (default: node bin/mal.js).
set -euo pipefail
cd "$(dirname "$0")/.."
MAL=${MAL:-node bin/mal.js}
data=out/study-data
if [ ! -e "$data/split.json" ]; then
  $MAL data split fashion-mnist:train --parts 2 --bias 0.8 --holdout 2000 --seed 1 --out "$data"
fi
started=$SECONDS
$MAL study examples/study.yaml "$@"
echo "npm run study: $((SECONDS - started)) s" >&2
