#!/usr/bin/env bash
# Regenerates Sources/NSMAPI/Generated and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
dev/protos/generate.sh
git diff --exit-code -- Sources/NSMAPI/Generated Sources/SPIFFE/Generated && echo "generated code is current"
