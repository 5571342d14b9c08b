#!/usr/bin/env bash
# Runs seqloop's fake timers inside real test runners, each under the Node versions it supports:
#   jest:   __test__/jest (testEnvironment 'seqloop/jest-environment') and __test__/jest/override
#           (the README's @sinonjs/fake-timers override recipe, installed there on first use),
#           under Node 20 and 22;
#   vitest: __test__/vitest (setupFiles 'seqloop/vitest'), under Node 22 and 24 (Vitest 5 needs
#           Node >= 22.12; scripts/node.sh fetches those binaries).
# Usage: scripts/ci-runners.sh [jest|vitest|all]   (needs the root `npm ci` and the built addon)
# Runs everything, then exits 1 if any run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in jest|vitest|all) ;; *) echo "usage: $0 [jest|vitest|all]" >&2; exit 2 ;; esac

failed=()
run () { # run <label> <command...>
  local label="$1"; shift
  echo "=== $label"
  if ! "$@"; then failed+=("$label"); fi
}

if [ "$what" != vitest ]; then
  override=__test__/jest/override
  if [ ! -x "$override/node_modules/.bin/jest" ]; then
    echo "=== installing $override"
    (cd "$override" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline)
  fi
  for major in 20 22; do
    node_bin="$(scripts/node.sh "$major")"
    run "jest environment, Node $major" "$node_bin" node_modules/jest/bin/jest.js --ci -c __test__/jest/jest.config.js
    run "jest override + environment by name, Node $major" "$node_bin" "$override/node_modules/jest/bin/jest.js" --ci -c "$override/jest.config.js"
  done
fi

if [ "$what" != jest ]; then
  for major in 22 24; do
    node_bin="$(scripts/node.sh "$major")"
    run "vitest, Node $major" "$node_bin" node_modules/vitest/vitest.mjs run -c __test__/vitest/vitest.config.mjs
  done
fi

if [ "${#failed[@]}" -ne 0 ]; then
  printf 'ci-runners: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "ci-runners: all runs passed"
