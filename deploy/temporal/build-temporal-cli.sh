#!/usr/bin/env bash
# Builds the Temporal CLI (with its `server start-dev`) once into a cache and prints the binary's path.
# v1.5.1 is the last release `go install` can build (later ones need replace directives go install refuses).
# Needs Go 1.23+ and the Go module proxy (or a filled module cache) the first time; ~3 minutes on 2 cores.
# Environment: MAL_TEMPORAL_CLI_CACHE overrides the cache folder.
set -euo pipefail

version=v1.5.1
cache="${MAL_TEMPORAL_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/model-assembly/temporal-cli-$version}"
binary="$cache/temporal"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-temporal-cli.sh: Go is not installed (needed once to build the Temporal dev server)." >&2
  echo "  Debian 12: the golang package is too old; install Go 1.23+ from https://go.dev/dl/ and put it on PATH." >&2
  exit 69
fi
mkdir -p "$cache"
echo "building the Temporal CLI $version into $cache (once; about 3 minutes)..." >&2
staging="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
GOBIN="$staging" CGO_ENABLED=0 go install "github.com/temporalio/cli/cmd/temporal@$version" >&2
# Rename into place so a build killed half-way never leaves a broken binary behind.
mv "$staging/temporal" "$binary"
echo "$binary"
