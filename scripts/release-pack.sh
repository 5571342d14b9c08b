#!/usr/bin/env bash
# `npm run release:pack`: builds the release addons and leaves four tarballs in dist/ (or
# $SEQLOOP_DIST), nothing published:
#   seqloop-<version>.tgz                  JS only, optionalDependencies on the three below
#   seqloop-linux-x64-gnu-<version>.tgz    seqloop.linux-x64-gnu.node
#   seqloop-linux-arm64-gnu-<version>.tgz  seqloop.linux-arm64-gnu.node
#   seqloop-wasm32-wasi-<version>.tgz      the WebAssembly fallback (scripts/build-wasm.sh; its
#                                          package.json is npm/wasm32-wasi's, no cpu/os field, so
#                                          npm installs it everywhere; docs/wasm.md)
# Each addon is built with napi-rs's cross toolchain (glibc 2.17 sysroot, `--use-napi-cross`)
# against a static PIC hwloc (scripts/build-hwloc.sh), each in its own target dir
# (target/cross-<triple>): with `--target`, cargo puts build scripts and proc macros in the target
# dir's release/ folder, and the cross linker settings for x86_64 would otherwise make every build
# (x64, arm64, the developer's `npm run build`) redo the others' host crates. Each binary must pass
# scripts/check-release-binary.sh.
# The napi-rs convention does the packaging: `napi artifacts` puts each binary into its npm/<platform>
# package and `napi pre-publish -t npm --skip-optional-publish` writes the main package's
# optionalDependencies, both on a staged copy so the repository's package.json stays as it is.
# SEQLOOP_RELEASE_TARGETS="x86_64-unknown-linux-gnu" limits the build to some targets (a tarball is
# then only made for those platform packages); `wasm32-wasip1-threads` names the WebAssembly one.
# The WebAssembly package is not napi's own wasi packaging (`napi artifacts` would add browser
# entries to the main package): this script copies the three files into npm/wasm32-wasi and adds
# the package to the main package's optionalDependencies itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
napi="$root/node_modules/.bin/napi"
out="${SEQLOOP_DIST:-$root/dist}"
artifacts="$root/target/release-artifacts"
# Only the binaries built by this run get packed.
rm -rf "$artifacts"
read -r -a requested <<<"${SEQLOOP_RELEASE_TARGETS:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu wasm32-wasip1-threads}"
targets=()
wasm=""
for triple in "${requested[@]}"; do
  if [ "$triple" = wasm32-wasip1-threads ]; then wasm=1; else targets+=("$triple"); fi
done

# Not under $artifacts: `napi artifacts` takes every binary it finds there for one of its targets.
wasm_out="$root/target/release-wasm"
if [ -n "$wasm" ]; then
  echo "release-pack: building wasm32-wasip1-threads" >&2
  rm -rf "$wasm_out"
  scripts/build-wasm.sh "$wasm_out"
fi

for triple in "${targets[@]}"; do
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
    rustup target add "$triple" >&2
  fi
  toolchain="$(scripts/cross-toolchain.sh "$triple")"
  hwloc="$(scripts/build-hwloc.sh "$triple")"
  echo "release-pack: building $triple (hwloc from $hwloc)" >&2
  rm -rf "${artifacts:?}/$triple"
  # PKG_CONFIG_LIBDIR: only our hwloc.pc is visible, never the system's (shared, GLIBC_2.34) one.
  PKG_CONFIG_ALLOW_CROSS=1 PKG_CONFIG_LIBDIR="$hwloc/lib/pkgconfig" PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR='' \
    "$napi" build --platform --release --strip --use-napi-cross --target "$triple" \
    --no-js --target-dir "$root/target/cross-$triple" --output-dir "$artifacts/$triple" >&2
  rm -f "$artifacts/$triple"/*.d.ts
  scripts/check-release-binary.sh "$artifacts/$triple"/*.node "$toolchain/bin/$triple-objdump"
done

stage="$root/target/release-stage"
rm -rf "$stage" && mkdir -p "$stage" "$out"
cp package.json README.md index.js index.d.ts "$stage/"
cp -R lib bin npm "$stage/"
# The staged manifest lists only the targets built here (napi then expects exactly those binaries
# and writes exactly those optionalDependencies). A registry or tarball install never runs
# `prepare` (the addon build of a clone); drop it anyway so no install path of the published
# package can try to compile Rust.
node -e '
  const fs = require("node:fs"), [file, ...targets] = process.argv.slice(1)
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
  pkg.napi.targets = targets
  delete pkg.scripts.prepare
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n")
' "$stage/package.json" ${targets[@]+"${targets[@]}"}
if [ ${#targets[@]} -gt 0 ]; then
  "$napi" artifacts --cwd "$stage" --output-dir "$artifacts" --npm-dir npm >&2
  # `napi artifacts` also leaves a copy of each binary at the package root (outside `files`, so npm
  # would not pack it); remove them so the main package cannot ship one.
  rm -f "$stage"/*.node
  # pre-publish reads the head commit (`git log -1`) for its release tag: the stage sits inside the
  # clone; give it a repository of its own when there is none (a source tree without .git).
  if ! git -C "$stage" log -1 >/dev/null 2>&1; then
    git -C "$stage" init -q
    git -C "$stage" -c user.name=release-pack -c user.email=release-pack@localhost commit -q --allow-empty -m "release $(node -p 'require("./package.json").version')"
fi
  "$napi" pre-publish --cwd "$stage" --npm-dir npm --tag-style npm --skip-optional-publish >&2
fi
if [ -n "$wasm" ]; then
  cp "$wasm_out"/* "$stage/npm/wasm32-wasi/"
  node -e '
    const fs = require("node:fs"), file = process.argv[1]
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
    pkg.optionalDependencies = { ...pkg.optionalDependencies, "seqloop-wasm32-wasi": pkg.version }
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n")
  ' "$stage/package.json"
fi

rm -f "$out"/*.tgz
packed=()
for dir in "$stage" "$stage"/npm/*; do
  if [ "$dir" != "$stage" ] && ! ls "$dir"/*.node >/dev/null 2>&1 && ! ls "$dir"/*.wasm >/dev/null 2>&1; then
    continue
  fi
  packed+=("$(cd "$dir" && npm pack --silent --pack-destination "$out")")
done
main="$out/${packed[0]}"
if tar -tzf "$main" | grep -qE '\.(node|wasm)$'; then
  echo "release-pack: $main ships a .node or .wasm; the addons belong in the platform packages" >&2
  exit 1
fi
rm -rf "$stage"
for t in "${packed[@]}"; do
  echo "$out/$t $(stat -c %s "$out/$t") bytes"
done
