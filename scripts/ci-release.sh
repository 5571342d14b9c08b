#!/usr/bin/env bash
# CI check of the release path: `npm install seqloop` must work for someone who has only Node.
# Self-contained on a fresh Debian 12 machine, run as root from a clone, with only Rust and Node:
#  1. installs the system packages it needs (below) and the npm dev dependencies;
#  2. `npm run release:pack`: builds the x64 and arm64 addons with napi-rs's cross toolchain
#     (glibc 2.17) against a static hwloc built from Debian's source, fails if `readelf -d` lists a
#     library outside glibc (libhwloc, libudev, ...) or `objdump -T` a GLIBC_ symbol above 2.17,
#     and leaves the three tarballs in a temp folder;
#  3. installs the main and the x64 tarball into a fresh consumer project in a temp folder and runs
#     scripts/smoke-consumer.js there under Node 20, 22 and 24, inside a private mount namespace
#     (`unshare -m`) where every libhwloc/libudev file is covered by an empty bind mount and PATH
#     has no Rust: what a machine without libhwloc15 sees; then the main package alone must fail
#     with ERR_NATIVE_BINDING_MISSING;
#  4. runs the same smoke test against the arm64 package under qemu-aarch64 (user mode, unpacked
#     into the cache, nothing installed system-wide) with Node 20, 22 and 24 for arm64.
# Caches (cross toolchains, hwloc builds, Node binaries) live under ~/.cache/seqloop and
# ~/.napi-rs, so a second run in the same machine skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
start=$(date +%s)
step() { echo "ci-release [$(($(date +%s) - start))s]: $*" >&2; }

# --- 1. system packages and npm dependencies --------------------------------------------------
step "system packages"
export DEBIAN_FRONTEND=noninteractive
if [ ! -f /etc/apt/sources.list.d/seqloop-src.sources ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Debian's hwloc source package, for the suites the machine is configured with.
  suites="$(sed -n 's/^Suites: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -n 1)"
  cat >/etc/apt/sources.list.d/seqloop-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${suites:-bookworm bookworm-updates}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
apt-get update -qq
# dpkg-dev: `apt-get source` unpacks with dpkg-source; make: hwloc's build; binutils: readelf and
# objdump; xz-utils: the cross toolchain archives; util-linux: unshare; curl: the arm64 Debian
# libraries for the qemu run. libhwloc-dev, libudev-dev
# and pkg-config are the developer build's (`npm ci` builds the addon through `prepare`).
apt-get install -y -qq --no-install-recommends dpkg-dev make binutils xz-utils util-linux curl \
  libhwloc-dev libudev-dev pkg-config ca-certificates >/dev/null
[ -d node_modules/@napi-rs/cli ] || npm ci

# --- 2. release binaries and tarballs ---------------------------------------------------------
step "npm run release:pack"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dist="${SEQLOOP_DIST:-$work/dist}"   # set SEQLOOP_DIST to keep the tarballs
SEQLOOP_DIST="$dist" npm run --silent release:pack
main="$(ls "$dist"/seqloop-[0-9]*.tgz)"
x64="$(ls "$dist"/seqloop-linux-x64-gnu-*.tgz)"
ls "$dist"/seqloop-linux-arm64-gnu-*.tgz >/dev/null

# --- 3. consumer project, no Rust, no libhwloc ------------------------------------------------
step "consumer install"
consumer="$work/consumer"
mkdir -p "$consumer"
cp scripts/smoke-consumer.js "$consumer/smoke.js"
node_bins=()
for major in 20 22 24; do node_bins+=("$(scripts/node.sh "$major")"); done
system_node_dir="$(dirname "$(command -v node)")"
hidden=()
for f in /usr/lib/*-linux-gnu/libhwloc.so* /usr/lib/*-linux-gnu/libudev.so* /lib/*-linux-gnu/libhwloc.so* /lib/*-linux-gnu/libudev.so*; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then hidden+=("$(readlink -f "$f")"); fi
done
dev_addon=""
if [ -f "$root/seqloop.linux-x64-gnu.node" ] && readelf -d "$root/seqloop.linux-x64-gnu.node" | grep -q libhwloc; then
  dev_addon="$root/seqloop.linux-x64-gnu.node"
fi

# Everything below runs in a private mount namespace: the bind mounts vanish with it.
unshare -m --propagation private env -i HOME="$HOME" TERM=dumb \
  CONSUMER="$consumer" MAIN="$main" X64="$x64" DEV_ADDON="$dev_addon" SYSTEM_NODE_DIR="$system_node_dir" \
  NODE_BINS="${node_bins[*]}" HIDDEN="${hidden[*]}" bash -euo pipefail -c '
  for f in $HIDDEN; do mount --bind /dev/null "$f"; done
  export PATH="$SYSTEM_NODE_DIR:/usr/sbin:/usr/bin:/sbin:/bin"
  if command -v cargo rustc >/dev/null; then echo "ci-release: Rust is still on PATH" >&2; exit 1; fi
  # The negative control: the developer build (linked against the system libhwloc) must not load.
  if [ -n "$DEV_ADDON" ]; then
    if node -e "require(process.argv[1])" "$DEV_ADDON" 2>/dev/null; then
      echo "ci-release: libhwloc is still visible (the developer build loaded)" >&2; exit 1
    fi
    echo "control: the developer build (needs libhwloc.so.15) does not load here" >&2
  fi
  cd "$CONSUMER"
  npm init -y >/dev/null
  # --offline: nothing comes from a registry; the arm64 optional dependency is skipped.
  npm install --offline --no-audit --no-fund "$MAIN" "$X64" >&2
  for bin in $NODE_BINS; do
    PATH="$(dirname "$bin"):$PATH" node smoke.js
  done
  # The main package alone (optional dependencies omitted): a clear error, not the npm-bug text.
  mkdir ../main-only && cd ../main-only
  npm init -y >/dev/null
  npm install --offline --no-audit --no-fund --omit=optional "$MAIN" >&2
  node -e "
    try { require(\"seqloop\") } catch (e) {
      if (e.code !== \"ERR_NATIVE_BINDING_MISSING\" || !/seqloop-linux-x64-gnu/.test(e.message)) throw e
      console.log(\"main package alone: \" + e.code + \": \" + e.message.split(\". \")[0])
      process.exit(0)
    }
    throw new Error(\"seqloop loaded without its platform package\")
  "
'
# --- 4. the arm64 package under qemu user-mode emulation (SEQLOOP_SKIP_QEMU=1 skips it) ----------
if [ "${SEQLOOP_SKIP_QEMU:-0}" != 1 ]; then
  step "arm64 package under qemu"
  scripts/smoke-arm64-qemu.sh "$dist"
fi
step "done in $(($(date +%s) - start))s"
