#!/usr/bin/env bash
# Builds deploy/Dockerfile with Debian's podman and runs the image: nothing is pulled from a
# container registry. The base image is made here with debootstrap from the machine's own apt
# mirror and imported under the names the Dockerfile starts FROM (debian:bookworm and
# debian:bookworm-slim). Builds use chroot isolation (`podman run` cannot set rlimits on these
# machines), so the image is exercised by a second build FROM it, whose RUN steps execute inside
# the image as its own user: the three binaries' --help, the user is not root, and
# `phaze run examples/quickstart.yaml` finds a best design. Prints the image size and build time.
# Exits 77 (ctest: skipped) where podman or debootstrap cannot work here.
#   tests/container_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
command -v podman > /dev/null || skip "podman not installed (deploy/install-deps.sh installs it)"
command -v debootstrap > /dev/null || skip "debootstrap not installed"
[[ $(id -u) -eq 0 ]] || skip "debootstrap needs root"
work=$(mktemp -d)
tag=phaze:container-test-$$
cleanup() {
  podman rmi -f "$tag" "$tag-check" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The apt mirror this machine uses (deb822 or one-line sources).
mirror=$(grep -h -o -m1 'http[s]*://[^ ]*/debian\b' /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list 2> /dev/null | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

if ! podman image exists debian:bookworm || ! podman image exists debian:bookworm-slim; then
  echo "== base image: debootstrap bookworm from $mirror"
  start=$(date +%s)
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; skip "debootstrap failed (no mirror reachable?)"; }
  tar -C "$work/rootfs" -c . | podman import - debian:bookworm > /dev/null
  podman tag debian:bookworm debian:bookworm-slim
  rm -rf "$work/rootfs"
  echo "base image made in $(( $(date +%s) - start )) s"
fi
probe="$work/probe"
mkdir -p "$probe"
printf 'FROM debian:bookworm\nRUN true\n' > "$probe/Containerfile"
podman build --isolation chroot --pull=never -q -t "$tag-check" "$probe" > "$work/probe.log" 2>&1 ||
  { cat "$work/probe.log"; skip "podman cannot build with chroot isolation here"; }

echo "== podman build deploy/Dockerfile"
start=$(date +%s)
podman build --isolation chroot --pull=never -f "$src/deploy/Dockerfile" -t "$tag" "$src" \
  > "$work/build.log" 2>&1 || { tail -60 "$work/build.log"; echo "FAIL: image build"; exit 1; }
build_s=$(( $(date +%s) - start ))
size=$(podman image inspect "$tag" --format '{{.Size}}')
user=$(podman image inspect "$tag" --format '{{.Config.User}}')
echo "image $tag: $(( size / 1000000 )) MB, built in $build_s s, user '$user'"
[[ -n "$user" && "$user" != "0" && "$user" != "root" ]] || { echo "FAIL: image runs as root"; exit 1; }

echo "== run inside the image (as its user)"
cat > "$work/Containerfile" << EOF2
FROM $tag
RUN phaze-coordinator --help > /dev/null && phaze-worker --help > /dev/null && phaze --help > /dev/null
RUN test "\$(id -u)" != 0 && echo "uid \$(id -u)"
RUN cd /tmp && phaze run /opt/phaze/examples/quickstart.yaml --out /tmp/q --threads 2 \
 && test -s /tmp/q/best.json && test -s /tmp/q/report.html && grep -q throughput_samples_per_s /tmp/q/best.json
EOF2
start=$(date +%s)
podman build --isolation chroot --pull=never -f "$work/Containerfile" -t "$tag-check" "$work" \
  > "$work/check.log" 2>&1 || { tail -40 "$work/check.log"; echo "FAIL: running the image"; exit 1; }
grep -E "^uid |^best:" "$work/check.log"
echo "checks inside the image took $(( $(date +%s) - start )) s"
echo "ok"
