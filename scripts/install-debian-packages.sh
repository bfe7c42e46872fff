#!/usr/bin/env bash
# Installs the Debian packages the tests (and benches) need, when they are missing. Run as root (CI is), or it
# says what to run. Usage: scripts/install-debian-packages.sh [test|bench|data]
# (data: the data sets only, for `npm run experiment:splits`)
set -euo pipefail
packages=(dataset-fashion-mnist)            # Fashion-MNIST for evaluation and the zoo
packages+=(fortunes fortunes-de fortunes-es fortunes-it) # text corpora fortunes:en, :de, :es, :it for transformers
if [ "${1:-test}" = test ]; then
  packages+=(chromium)                      # headless browser for the assembly report's browser test
  packages+=(nats-server)                   # JetStream server the NATS worker tests start on a free port
fi
if [ "${1:-test}" = bench ]; then
  packages+=(python3-scipy python3-numpy time) # reference solvers and GEMM, peak RSS
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
