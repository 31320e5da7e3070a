#!/usr/bin/env bash
# The main job: installs what is missing (iproute2, ping), builds nsm, and runs the local mesh
# demo (as root: it creates network namespaces, and removes everything it made).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh >/dev/null
swift build --product nsm 2>&1 | grep -E "error|warning: unre|Compiling nsm|Build complete" || true
exec .build/debug/nsm demo
