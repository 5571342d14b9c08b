#!/usr/bin/env bash
# Builds a static, position-independent hwloc for one release target with napi-rs's cross toolchain
# (glibc 2.17 sysroot) into a private prefix, and prints that prefix. The release build points
# PKG_CONFIG_PATH at "<prefix>/lib/pkgconfig": hwlocality-sys asks pkg-config for static linking,
# so the addon carries hwloc inside it and needs no libhwloc (nor libudev) at run time.
#
#   scripts/build-hwloc.sh x86_64-unknown-linux-gnu     -> ~/.cache/seqloop/hwloc/2.9.0-1-x86_64-unknown-linux-gnu
#   scripts/build-hwloc.sh aarch64-unknown-linux-gnu
#
# Source: Debian's hwloc source package (`apt-get source hwloc`, needs a deb-src entry and dpkg-dev;
# scripts/ci-release.sh sets both up). I/O discovery, libudev, libxml2, plugins, cairo and X are
# off: the addon only reads the CPU/NUMA topology and binds threads.
# Needs the toolchain at ~/.napi-rs/cross-toolchain/<version>/<triple> (scripts/cross-toolchain.sh).
set -euo pipefail
triple="${1:?usage: scripts/build-hwloc.sh <rust target triple>}"
cache="${SEQLOOP_CACHE:-${HOME:-/root}/.cache/seqloop}"
toolchain="$("$(dirname "$0")/cross-toolchain.sh" "$triple")"

src_root="$cache/hwloc-src"
if [ ! -f "$src_root/.done" ]; then
  rm -rf "$src_root" && mkdir -p "$src_root"
  (cd "$src_root" && apt-get source --download-only hwloc >&2 && dpkg-source -x hwloc_*.dsc src >&2)
  touch "$src_root/.done"
fi
version="$(cd "$src_root" && ls hwloc_*.dsc | sed 's/^hwloc_//; s/\.dsc$//')"

prefix="$cache/hwloc/$version-$triple"
if [ ! -f "$prefix/.done" ]; then
  build="$cache/hwloc/build-$triple"
  log="$cache/hwloc/build-$triple.log"
  rm -rf "$build" "$prefix" && mkdir -p "$build"
  echo "build-hwloc: building hwloc $version for $triple (log: $log)" >&2
  if ! (
    cd "$build"
    export PATH="$toolchain/bin:$PATH"
    "$src_root/src/configure" --host="$triple" --prefix="$prefix" \
      CC="$triple-gcc" AR="$triple-ar" RANLIB="$triple-ranlib" CFLAGS="-O2" \
      --enable-static --disable-shared --with-pic \
      --disable-io --disable-pci --disable-libudev --disable-libxml2 --disable-plugins \
      --disable-plugin-dlopen --disable-plugin-ltdl --disable-cairo --without-x \
      --disable-opencl --disable-cuda --disable-nvml --disable-rsmi --disable-levelzero --disable-gl \
      --disable-doxygen --disable-readme --disable-picky
    # Only the library, its headers and hwloc.pc: lstopo and the other utilities are not needed.
    make -j"$(nproc)" SUBDIRS="include hwloc" install
  ) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "build-hwloc: hwloc's build for $triple failed (full log: $log)" >&2
    exit 1
  fi
  rm -rf "$build"
  touch "$prefix/.done"
fi
echo "$prefix"
