#!/usr/bin/env bash
# The one test command: set up (Debian packages + npm workspaces + native build), then the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
