#!/usr/bin/env bash
# Checks that every `unsafe` of the binding lives in its ffi module (docs/architecture.md, "Where
# the unsafe code lives"): outside src/binding/ffi/, no binding file may use `unsafe` (an unsafe
# block, fn, impl or trait) or opt out of the `deny(unsafe_code)` of src/binding/mod.rs (an
# `allow`/`expect`/`warn` of `unsafe_code` anywhere but the one line on `mod ffi;`). Comments
# are not code: lines starting with `//` are skipped.
# Usage: scripts/check-unsafe.sh [binding-dir]   (default: src/binding)
set -euo pipefail
dir="${1:-src/binding}"

# every Rust file of the binding outside ffi/, with its lines that are not comments
offenders=$(find "$dir" -name '*.rs' -not -path "$dir/ffi/*" -print0 | sort -z |
  xargs -0 grep -nHE '\bunsafe\b|(allow|expect|warn)\s*\(\s*unsafe_code' |
  grep -vE '^[^:]+:[0-9]+:\s*//' |
  grep -vE "^$dir/mod\.rs:[0-9]+:#\[allow\(unsafe_code, reason = \"the one module of the binding that holds unsafe code\"\)\]$" || true)
if [ -n "$offenders" ]; then
  echo "$offenders" >&2
  echo "check-unsafe: the lines above use unsafe code outside $dir/ffi/ (move it into the ffi module behind a safe function)" >&2
  exit 1
fi
if ! grep -qE '^#!\[deny\(unsafe_code\)\]' "$dir/mod.rs"; then
  echo "check-unsafe: $dir/mod.rs lost its #![deny(unsafe_code)]" >&2
  exit 1
fi
echo "unsafe: every unsafe block of the binding is in $dir/ffi/"
