#!/usr/bin/env bash
# The lower-level tools: inspect a model, align a model of other widths to a base, and merge it in.
# Uses the example models shipped in examples/models (see scripts/make-example-models.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/demo-align
rm -rf "$out"
mkdir -p "$out"
mal() { node bin/mal.js "$@"; }

echo "== 1. The target: an MLP 784→192→48→10 stored as float16"
mal inspect examples/models/mlp-wide
echo
echo "== 2. Align it to the base (784→128→64→10): find which target unit belongs on which base unit"
mal align examples/models/mlp-base examples/models/mlp-wide --out "$out/align"
echo
echo "== 3. Merge with λ = 0.3 using those maps (unmatched base units keep their values)"
mal merge examples/models/mlp-base examples/models/mlp-wide --maps "$out/align/maps.json" --lambda 0.3 \
  --unmatched keep --out "$out/merged.safetensors"
echo
echo "== 4. The merged model has the base's layout"
mal inspect "$out/merged.safetensors" | head -12
echo
echo "Outputs are in $out/: align/maps.json, align/aligned.safetensors, merged.safetensors"
