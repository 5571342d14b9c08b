#!/usr/bin/env bash
# Builds the WebAssembly fallback (`seqloop-wasm32-wasi`, docs/wasm.md): the crate for
# wasm32-wasip1-threads, linked against emnapi, plus napi-rs's generated WASI loader
# (`seqloop.wasi.cjs`) and its thread worker (`wasi-worker.mjs`).
#   scripts/build-wasm.sh [--debug] [output dir]   (default: the repository root, next to index.js,
#                                                   where lib/native.js finds it in a clone)
# Needs the rustup target (added here when missing) and the npm dev dependencies (emnapi,
# @emnapi/core, @emnapi/runtime, @napi-rs/wasm-runtime). Its own target dir (target/wasm), so the
# host build's artifacts are never rebuilt for it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
release=(--release)
if [ "${1:-}" = "--debug" ]; then release=(); shift; fi
out="${1:-$root}"
triple=wasm32-wasip1-threads
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
  rustup target add "$triple" >&2
fi
tmp="$root/target/wasm-out"
rm -rf "$tmp" && mkdir -p "$tmp" "$out"
# --output-dir: napi also writes index.js/index.d.ts there (identical to the repository's, which
# list the wasm fallback already); only the wasm files are kept.
"$root/node_modules/.bin/napi" build --platform "${release[@]}" --target "$triple" \
  --target-dir "$root/target/wasm" --output-dir "$tmp" >&2
for f in seqloop.wasm32-wasi.wasm seqloop.wasi.cjs wasi-worker.mjs; do
  cp "$tmp/$f" "$out/$f"
done
# A debug build of an earlier run would be preferred by the generated loader; drop it.
rm -f "$out/seqloop.wasm32-wasi.debug.wasm"
echo "$out/seqloop.wasm32-wasi.wasm $(stat -c %s "$out/seqloop.wasm32-wasi.wasm") bytes" >&2
