#!/usr/bin/env bash
# npm run lint: checks the public TypeScript surface.
#  1. tsc --noEmit with strict settings over the usage examples in __test__/types/ (tsconfig.json
#     there): every public .d.ts they import must accept real usage and reject misuse (the
#     `@ts-expect-error` lines fail the check if they compile).
#  2. the public .d.ts files name no internal or duplicate forms (docs/api.md, "One form per
#     operation"): no fastPaths, rawFunctions, handle(), live* statics or __seqloop* members.
#  3. every unsafe block of the binding is in src/binding/ffi/ (scripts/check-unsafe.sh).
#  4. every JS file of the benchmarks, examples and CLI parses (`node --check`: benches are not run
#     by the tests, so a broken one would otherwise go unnoticed until `npm run bench`).
# cargo fmt --check and cargo clippy run in CI (.ci/run) on their own.
set -euo pipefail
cd "$(dirname "$0")/.."

node node_modules/typescript/bin/tsc -p __test__/types/tsconfig.json
echo "tsc: the public .d.ts files type-check the usage examples"

public=(index.d.ts lib/index.d.ts lib/fake-timers.d.ts lib/vitest.d.ts lib/jest-environment.d.ts lib/explore.d.ts lib/worker.d.ts)
# a declaration (method, property or static) whose name is an internal form; `handle` only as a
# method (`handle: SlabHandle` is a field of the slab's results)
if grep -nE '^\s*(static\s+)?((fastPaths|rawFunctions|live[A-Z][A-Za-z]*|__seqloop[A-Za-z]*)\s*[(:<?]|handle\s*\()' "${public[@]}"; then
  echo "lint: the lines above declare internal forms in the public types (see docs/api.md)" >&2
  exit 1
fi
echo "surface: no internal forms in the public .d.ts files"

scripts/check-unsafe.sh

for f in bench/*.js bench/*/*.js examples/*.js bin/*.js; do node --check "$f"; done
echo "syntax: bench/, examples/ and bin/ parse"
