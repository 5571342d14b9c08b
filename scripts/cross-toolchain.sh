#!/usr/bin/env bash
# Places napi-rs's prebuilt gcc cross toolchain (glibc 2.17 sysroot) for one target where
# `napi build --use-napi-cross` looks for it, and prints that folder:
#   ~/.napi-rs/cross-toolchain/<version of @napi-rs/cross-toolchain>/<triple>
#
# The CLI would `npm pack @napi-rs/cross-toolchain-x64-target-<arch>@<its own version>`, but the
# registry has no toolchain package at that version (1.0.5 at the time of writing: x86_64 stops at
# 1.0.0, aarch64 at 1.0.3), so we fetch the pinned versions below and unpack them ourselves; the
# CLI then finds its folder populated and skips the download.
set -euo pipefail
triple="${1:?usage: scripts/cross-toolchain.sh <rust target triple>}"
cd "$(dirname "$0")/.."
case "$triple" in
  x86_64-unknown-linux-gnu) pkg=@napi-rs/cross-toolchain-x64-target-x86_64 pin=1.0.0 ;;
  aarch64-unknown-linux-gnu) pkg=@napi-rs/cross-toolchain-x64-target-aarch64 pin=1.0.3 ;;
  *) echo "scripts/cross-toolchain.sh: no pinned toolchain for $triple" >&2; exit 1 ;;
esac
[ "$(uname -m)" = x86_64 ] || { echo "scripts/cross-toolchain.sh: pinned toolchains run on x86_64 hosts only" >&2; exit 1; }
cli_version="$(node -p "require(require.resolve('@napi-rs/cross-toolchain/package.json', { paths: [require.resolve('@napi-rs/cli')] })).version")"
dest="${HOME:-/root}/.napi-rs/cross-toolchain/$cli_version/$triple"
if [ ! -f "$dest/package.json" ] || [ ! -x "$dest/bin/$triple-gcc" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$pin" >/dev/null)
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  tar -xzf "$tmp"/*.tgz -O "package/$triple.tar.xz" | tar -xJ -C "$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
echo "$dest"
