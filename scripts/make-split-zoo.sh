#!/usr/bin/env bash
# Regenerates the split zoo shipped in zoo/splits/ (or the folder given as $1) with `mal data split` and
# `mal zoo train`: the case the main demo (`npm run demo`) is about, a base that owns one part of the data and a
# zoo of other widths trained on another part (MAL §7-8, Git Re-Basin's class-biased split).
#
#   - the split: Fashion-MNIST's 60 000 training images, 2 000 held out (the objective), the rest cut in two
#     class-biased parts (`--parts 2 --bias 0.8 --seed 1`): part 1 = 80 % of classes 0-4 and 20 % of 5-9, part 2
#     the rest. The split is seeded, so the demo recreates exactly these files instead of shipping them;
#   - the base: 784-128-128-10 trained on part 1;
#   - the zoo: 784-w-w-10 for w = 64, 256, 512, trained on part 2, which the base never saw most of.
# Every model trains for 3 epochs; weights are stored as float16 (--dtype f16) to keep the folder small, and each
# is evaluated on the full Fashion-MNIST test split.
#
# Needs the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist, or --data-dir / MAL_DATA_DIR) and a
# build (`npm run build`). Set MAL to run another `mal` (default: node bin/mal.js).
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${1:-zoo/splits}
MAL=${MAL:-node bin/mal.js}

if [ -e "$zoo/zoo.json" ]; then
  echo "$zoo already holds a zoo; remove it first (rm -r $zoo) to regenerate it" >&2
  exit 1
fi
# The same folder and options as scripts/demo.sh, so the manifest names the files the demo recreates.
data=out/demo-data
if [ ! -e "$data/split.json" ]; then
  $MAL data split fashion-mnist:train --parts 2 --bias 0.8 --holdout 2000 --seed 1 --out "$data"
fi

train() {
  echo "== mal zoo train $*" >&2
  local started=$SECONDS
  $MAL zoo train --zoo "$zoo" --dtype f16 --epochs 3 --eval fashion-mnist:test "$@"
  echo "   ($((SECONDS - started)) s with loading and evaluation)" >&2
}

train --id base-mlp-h128-part1 --arch mlp --hidden 128,128 --data "$data/part-1.arrow" --seed 11
for width in 64 256 512; do
  train --id "mlp-h${width}-part2" --arch mlp --hidden "$width,$width" --data "$data/part-2.arrow" --seed 12
done

$MAL zoo ls --zoo "$zoo"
echo "total: ${SECONDS} s; $(du -sh "$zoo" | cut -f1) in $zoo" >&2
