#!/usr/bin/env bash
# Builds the nsm container image with podman: the release binary (Swift's standard library linked
# in, stripped) and the shared libraries it loads, FROM scratch. Then checks it without running a
# container (this kind of machine refuses `podman run`): exports the image's file system and runs
# `nsm --version` and `nsm annotation check` chrooted inside it.
#
#   scripts/image.sh [TAG]         # default localhost/nsm:<version>, also tagged localhost/nsm:latest
#   SAVE=nsm.tar scripts/image.sh  # also writes the image as an archive (for `kind load image-archive`)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

need=()
command -v podman >/dev/null || need+=(podman)
command -v strip >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
    echo "image: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

echo "image: building the release binary (the first build takes 10-20 minutes)"
# No dynamic symbol table: nothing loads symbols from the executable (6.5 MB smaller).
swift build -c release --static-swift-stdlib --product nsm -Xlinker --no-export-dynamic 2>&1 | grep -E "error|Compiling nsm|Build.*complete" || true
binary=.build/release/nsm
[ -x "$binary" ] || { echo "image: $binary was not built" >&2; exit 1; }
version=$("$binary" --version)
tag=${1:-localhost/nsm:$version}

stage=$(mktemp -d)
check=$(mktemp -d)
container=""
cleanup() {
    [ -n "$container" ] && podman rm -f "$container" >/dev/null 2>&1
    rm -rf "$stage" "$check"
}
trap cleanup EXIT

root="$stage/rootfs"
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/dev" "$root/sys" "$root/var/lib/networkservicemesh" "$root/var/run/nsm-client"
chmod 1777 "$root/tmp"
strip -o "$root/usr/local/bin/nsm" "$binary"
# Every library the binary loads, at the path the dynamic loader looks for it.
ldd "$binary" | awk '/=>/ { print $3 } $1 ~ /^\// { print $1 }' | while read -r library; do
    [ -n "$library" ] || continue
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
# Name lookups: files then DNS (Kubernetes mounts /etc/hosts and /etc/resolv.conf over these).
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/usr/local/bin/nsm\nnonroot:x:65532:65532:nonroot:/:/usr/local/bin/nsm\n' > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
cp Containerfile "$stage/Containerfile"

podman build --quiet -t "$tag" -t localhost/nsm:latest -f "$stage/Containerfile" "$stage" >/dev/null
size=$(podman image inspect "$tag" --format '{{.Size}}')
compressed=$(podman save "$tag" | gzip -c | wc -c)
echo "image: $tag, $((size / 1024 / 1024)) MB uncompressed, $((compressed / 1024 / 1024)) MB as a gzipped archive"

# The check: the image's own file system, chrooted, with /proc mounted as a container runtime
# mounts it (Swift reads a process's arguments from /proc/self/cmdline on Linux).
container=$(podman create "$tag")
podman export "$container" | tar -x -C "$check"
inside() { unshare --mount --pid --fork --mount-proc="$check/proc" chroot "$check" /usr/local/bin/nsm "$@"; }
shown=$(inside --version)
[ "$shown" = "$version" ] || { echo "image: nsm --version in the image says '$shown', expected '$version'" >&2; exit 1; }
echo "image: nsm --version in the image: $shown"
table=$(inside annotation check 'kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2' --seed 1)
echo "$table"
grep -q "nsm-1 .*app=foo,version=v1.1" <<<"$table" || { echo "image: nsm annotation check in the image gave no nsm-1 row" >&2; exit 1; }
echo "image: $(find "$check" -type f | wc -l) files:"
(cd "$check" && find . -type f -printf '  %p %s\n' | sort)

if [ -n "${SAVE:-}" ]; then
    podman save -o "$SAVE" "$tag"
    echo "image: saved to $SAVE"
fi
