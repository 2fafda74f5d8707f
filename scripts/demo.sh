#!/usr/bin/env bash
# The main job: set up, then run the demo (examples/demo.ts) on the embedded default store.
# As root. Options go to the demo: --root DIR (state dir; default $STRATUM_ROOT or
# ~/.local/share/stratum), --clean (also remove the demo's two images at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx --conditions=stratum-source examples/demo.ts "$@"
