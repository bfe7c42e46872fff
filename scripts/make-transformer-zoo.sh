#!/usr/bin/env bash
# Regenerates the transformer demo zoo shipped in zoo/transformers/ (or the folder given as $1) with
# `mal zoo train --arch gpt2`, for `npm run demo:transformer`.
#
# What the zoo is for:
#   - a GPT-2 base (width 64, 4 heads, 2 blocks, context 64) that is deliberately under-trained (one epoch on 200
#     sequences of English fortunes): the common case that zoo models of other widths can improve;
#   - GPT-2s of other widths and head counts (48 with 4 and 2 heads, 32 with 2 heads) trained longer on English
#     fortunes: donors whose blocks are transplanted across widths and head counts;
#   - one width-48 GPT-2 trained on German fortunes (fortunes-de): a zoo model from a different data set.
# Byte tokens (vocabulary 256); MLP width 2·width (--intermediate) and float16 storage keep the folder small.
# Metrics in the manifest are measured on the float16 weights, on 64 held-out sequences of fortunes:en:test
# (and fortunes:de:test for the German model).
#
# Needs the Debian packages fortunes and fortunes-de (scripts/install-debian-packages.sh) and a build
# (`npm run build`). Set MAL to run another `mal` (default: node bin/mal.js).
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${1:-zoo/transformers}
MAL=${MAL:-node bin/mal.js}

if [ -e "$zoo/zoo.json" ]; then
  echo "$zoo already holds a zoo; remove it first (rm -r $zoo) to regenerate it" >&2
  exit 1
fi

train() {
  echo "== mal zoo train $*" >&2
  local started=$SECONDS
  $MAL zoo train --zoo "$zoo" --dtype f16 --arch gpt2 --layers 2 --context 64 --eval-limit 64 --backend wasm "$@"
  echo "   ($((SECONDS - started)) s with loading and evaluation)" >&2
}

# The base: one epoch on the first 200 training sequences.
train --id base-gpt2-w64-h4-weak --width 64 --heads 4 --intermediate 128 --data fortunes:en:train --limit 200 \
  --epochs 1 --seed 7

# Donors of other widths and head counts, two epochs on 1 600 sequences.
train --width 48 --heads 4 --intermediate 96 --data fortunes:en:train --limit 1600 --epochs 2 --seed 1
train --width 48 --heads 2 --intermediate 96 --data fortunes:en:train --limit 1600 --epochs 2 --seed 2
train --width 32 --heads 2 --intermediate 64 --data fortunes:en:train --limit 1600 --epochs 2 --seed 3
# Another language: German fortunes, evaluated on both languages' held-out text.
train --width 48 --heads 4 --intermediate 96 --data fortunes:de:train --limit 1600 --epochs 2 --seed 4 \
  --eval fortunes:de:test,fortunes:en:test

$MAL zoo ls --zoo "$zoo"
echo "total: ${SECONDS} s; $(du -sh "$zoo" | cut -f1) in $zoo" >&2
