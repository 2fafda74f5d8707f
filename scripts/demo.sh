#!/usr/bin/env bash
# The main job: set up, then run the demo (examples/demo.ts) on the embedded default store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx --conditions=stratum-source examples/demo.ts "$@"
