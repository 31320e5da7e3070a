#!/usr/bin/env bash
# Fuzzes our parsers with libFuzzer (swiftc -sanitize=fuzzer,address; the toolchain ships it).
#   scripts/fuzz.sh [--time SECONDS] [--runs N] [TARGET...]
#   targets: annotation dns netlink ipaddressing transport prefixes admission
# Each target is built from its sources plus Fuzz/Targets/<target>.swift, seeded from
# Fuzz/Corpus/<target>, and run for --time seconds (default 60) or --runs executions. New inputs
# go to a scratch corpus, not the repository. A crash stops it: the input is kept in
# .build-fuzz/<target>/ and the script exits non-zero. The first four need no SwiftPM build; the
# last three import NIO, Yams or our Kubernetes module and link them as SwiftPM's debug build made
# them (swift build --target runs first): only the target's own sources are instrumented.
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
all_targets=(annotation dns netlink ipaddressing transport prefixes admission)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

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
        transport) find Sources/LeanGRPC -name '*.swift' ;;
        prefixes) echo Sources/NSMElements/ExcludedPrefixes/ExcludedPrefixesFile.swift ;;
        admission) ls Sources/NSMAdmission/{Injection,Review,Validation,Namespaces}/*.swift ;;
        *) echo "fuzz.sh: no target \"$1\" (accepted: ${all_targets[*]})" >&2; return 2 ;;
    esac
}

# The SwiftPM module whose sources a prebuilt-linked target takes (its import flags are borrowed).
swiftpm_module() {
    case "$1" in
        transport) echo LeanGRPC ;;
        prefixes) echo NSMElements ;;
        admission) echo NSMAdmission ;;
    esac
}

# The -I and -Xcc flags SwiftPM compiles module $1 with (from its build manifest).
import_flags() {
    python3 - "$1" <<'PY'
import json, re, sys
text = open(".build/debug.yaml").read()
match = re.search(r'^  "C\.' + re.escape(sys.argv[1]) + r'-[^"]*-debug\.module":\n(?:    .*\n)*?    args: (\[.*\])$', text, re.M)
args = json.loads(match.group(1))
flags, index = [], 0
while index < len(args):
    if args[index] in ("-Xcc", "-I") and index + 1 < len(args):
        flags += args[index:index + 2]
        index += 2
    else:
        index += 1
print("\n".join(flags))
PY
}

# Every object of SwiftPM's debug build but the module being fuzzed, tests and executables, as one
# archive: the linker takes only what the target needs.
prebuilt_archive() {
    local module="$1" archive="$2"
    rm -f "$archive"
    find -L .build/debug -name '*.o' -path '*/*.build/*' \
        ! -path "*/$module.build/*" ! -path '*/nsm.build/*' ! -path '*-tool.build/*' ! -path '*Tests.build/*' \
        ! -path '*PackageTests.build/*' ! -name '*.swiftmodule.o' -print0 | xargs -0 ar qcsP "$archive"
}

status=0
for target in "${targets[@]}"; do
    files=$(sources "$target")
    work=".build-fuzz/$target"
    mkdir -p "$work/corpus"
    linked=()
    module=$(swiftpm_module "$target")
    if [ -n "$module" ]; then
        swift build --target "$module" > "$work/swiftpm.log" 2>&1 || { cat "$work/swiftpm.log" >&2; exit 1; }
        prebuilt_archive "$module" "$work/prebuilt.a"
        mapfile -t flags < <(import_flags "$module")
        linked+=("${flags[@]}" "$work/prebuilt.a" -lstdc++)
    fi
    for module in $(dependencies "$target"); do
        swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$module" -emit-module -emit-module-path "$work/modules/$module.swiftmodule" \
            -emit-library -static -o "$work/lib$module.a" Sources/"$module"/*.swift
        linked+=(-I "$work/modules" -L "$work" -l"$module")
    done
    # Warnings from the sanitizer runtime's linker are noise; errors still stop the build.
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz_$target" $files "Fuzz/Targets/$target.swift" "${linked[@]}" \
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
