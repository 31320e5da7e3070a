#!/usr/bin/env bash
# Fuzzes our parsers with libFuzzer (swiftc -sanitize=fuzzer,address; the toolchain ships it).
#   scripts/fuzz.sh [--time SECONDS] [--runs N] [TARGET...]     targets: annotation dns netlink ipaddressing
# Each target is built from its module's sources plus Fuzz/Targets/<target>.swift (seconds, no
# SwiftPM build), seeded from Fuzz/Corpus/<target>, and run for --time seconds (default 60) or
# --runs executions. New inputs go to a scratch corpus, not the repository. A crash stops it: the
# input is kept in .build-fuzz/<target>/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

seconds=60
runs=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (accepted: --time SECONDS, --runs N)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(annotation dns netlink ipaddressing)

# Modules a target's sources import, built first (instrumented the same way) as static libraries.
dependencies() {
    case "$1" in
        dns) echo IPAddressing ;;
    esac
}

sources() {
    case "$1" in
        annotation) ls Sources/NSMAnnotation/*.swift ;;
        dns) ls Sources/NSMDNS/Wire/*.swift ;;
        netlink) find Sources/NetlinkWire -name '*.swift' ;;
        ipaddressing) ls Sources/IPAddressing/*.swift ;;
        *) echo "fuzz.sh: no target \"$1\" (accepted: annotation dns netlink ipaddressing)" >&2; return 2 ;;
    esac
}

status=0
for target in "${targets[@]}"; do
    files=$(sources "$target")
    work=".build-fuzz/$target"
    mkdir -p "$work/corpus"
    linked=()
    for module in $(dependencies "$target"); do
        swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$module" -emit-module -emit-module-path "$work/modules/$module.swiftmodule" \
            -emit-library -static -o "$work/lib$module.a" Sources/"$module"/*.swift
        linked+=(-I "$work/modules" -L "$work" -l"$module")
    done
    # Warnings from the sanitizer runtime's linker are noise; errors still stop the build.
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz_$target" "${linked[@]}" $files "Fuzz/Targets/$target.swift" \
        -o "$work/fuzz-$target" 2> >(grep -v "Cannot export local symbol" >&2)
    limit=(-max_total_time="$seconds")
    [ -z "$runs" ] || limit=(-runs="$runs")
    if [ -n "$runs" ]; then echo "fuzz.sh: $target ($runs runs)"; else echo "fuzz.sh: $target ($seconds s)"; fi
    if ! (cd "$work" && "./fuzz-$target" "${limit[@]}" -print_final_stats=1 -artifact_prefix="./" corpus "../../Fuzz/Corpus/$target" > log 2>&1); then
        echo "fuzz.sh: $target FOUND A CRASH — input and log in $work/" >&2
        tail -40 "$work/log" >&2
        status=1
        continue
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/log" | sed "s/^/fuzz.sh: $target /"
done
exit $status
