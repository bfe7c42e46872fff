#!/usr/bin/env bash
# The quick demo, with nothing to install: the weak base of the shipped demo zoo (zoo/demo) absorbs layers from
# the zoo's models of other widths, judged on the shipped validation subset (data/), on the embedded engine.
# A rerun with the output folder in place resumes from its store; this demo starts clean.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf out/demo
node bin/mal.js assemble examples/demo-plan.yaml
