#!/usr/bin/env bash
# The test command: installs missing dependencies, builds, runs every Swift test and the
# Python interoperability tests, and ends with one summary line.
# Run as root on Linux: the netlink tests create network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build 2>&1 | tee "$log"
swift_status=${PIPESTATUS[0]}
.venv-test/bin/python -m pytest -q Tests/Interop 2>&1 | tee -a "$log"
py_status=${PIPESTATUS[0]}
# The fuzzers' short form: each target a few seconds (scripts/fuzz.sh --runs 1000000 for the long one).
scripts/fuzz.sh --time 5 2>&1 | tee -a "$log"
fuzz_status=${PIPESTATUS[0]}
set -e

# Swift Testing ends with "Test run with N tests … passed|failed"; each failed test has its own
# "✘ Test "name" … failed after" line.
swift_total=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | head -1 || true)
swift_failed=$(grep -cE '^✘ Test ".*failed after' "$log" || true)
swift_passed=$(( ${swift_total:-0} - ${swift_failed:-0} ))
py_passed=$(grep -oE '[0-9]+ passed' "$log" | tail -1 | grep -oE '[0-9]+' || true)
py_failed=$(grep -oE '[0-9]+ failed' "$log" | tail -1 | grep -oE '[0-9]+' || true)
passed=$(( ${swift_passed:-0} + ${py_passed:-0} ))
failed=$(( ${swift_failed:-0} + ${py_failed:-0} ))
fuzz_targets=$(grep -cE '^fuzz.sh: [a-z]+ stat::number_of_executed_units' "$log" || true)
fuzz_crashed=$(grep -c 'FOUND A CRASH' "$log" || true)
passed=$(( passed + ${fuzz_targets:-0} ))
failed=$(( failed + ${fuzz_crashed:-0} ))
if [ "$swift_status" -ne 0 ] || [ "$py_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ]; then
    [ "$failed" -eq 0 ] && failed=1
fi
echo "tests: $passed passed, $failed failed"
[ "$swift_status" -eq 0 ] && [ "$py_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ]
