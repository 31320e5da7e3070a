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
swift build -c release --static-swift-stdlib --product nsm 2>&1 | grep -E "error|Compiling nsm|Build complete" || true
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
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/var/lib/networkservicemesh" "$root/var/run/nsm-client"
chmod 1777 "$root/tmp"
strip -o "$root/usr/local/bin/nsm" "$binary"
# Every library the binary loads, at the path the dynamic loader looks for it.
ldd "$binary" | awk '/=>/ { print $3 } /^\s*\/.*ld-linux/ { print $1 }' | while read -r library; do
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
echo "image: $tag, $((size / 1024 / 1024)) MB uncompressed"

# The check: the image's own file system, chrooted.
container=$(podman create "$tag")
podman export "$container" | tar -x -C "$check"
chroot "$check" /usr/local/bin/nsm --version
chroot "$check" /usr/local/bin/nsm annotation check \
    'kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2' --seed 1
echo "image: $(find "$check" -type f | wc -l) files:"
(cd "$check" && find . -type f -printf '  %p %s\n' | sort)

if [ -n "${SAVE:-}" ]; then
    podman save -o "$SAVE" "$tag"
    echo "image: saved to $SAVE"
fi
