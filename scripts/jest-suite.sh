#!/usr/bin/env bash
# Runs Jest's own modern fake timers tests (packages/jest-fake-timers/src/__tests__/
# modernFakeTimers.test.ts of a jestjs/jest snapshot) against seqloop, three ways:
#   sinon        the published @jest/fake-timers on its own @sinonjs/fake-timers (the baseline:
#                proves the harness, not seqloop);
#   environment  the same ModernFakeTimers with useSeqloopClock() from seqloop/jest-environment;
#   override     the README's recipe: @sinonjs/fake-timers overridden by a shim package that
#                re-exports seqloop/fake-timers.
# Nothing of Jest's is copied into this repository: the test file and its snapshot are extracted into
# a temporary folder, Jest and @jest/fake-timers (the snapshot's version) are installed there from
# npm, and the test's two workspace imports are answered by stand-ins written here: `../modernFakeTimers`
# (the published ModernFakeTimers, per route) and `@jest/test-utils` (makeProjectConfig).
#   scripts/jest-suite.sh /path/to/jest/.git-or-bare-repo [commit] [route...]
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
git_dir="${1:?usage: $0 <jest git dir> [commit] [sinon|environment|override ...]}"
rev="${2:-HEAD}"
shift $(( $# >= 2 ? 2 : 1 ))
routes=("$@"); [ "${#routes[@]}" -ne 0 ] || routes=(sinon environment override)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pkg=packages/jest-fake-timers
test_file="$pkg/src/__tests__/modernFakeTimers.test.ts"
snap_file="$pkg/src/__tests__/__snapshots__/modernFakeTimers.test.ts.snap"
git -C "$git_dir" cat-file -e "$rev:$test_file" 2>/dev/null || { echo "no $test_file at $rev in $git_dir" >&2; exit 2; }
version="$(git -C "$git_dir" show "$rev:$pkg/package.json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')"
echo "suite: $test_file at $(git -C "$git_dir" rev-parse --short "$rev") (@jest/fake-timers $version)"

node_bin="$("$repo_root/scripts/node.sh" 22)"
export PATH="$(dirname "$node_bin"):$PATH"

# One project folder per route; each gets the same test, snapshot and stand-ins.
setup () { # setup <dir> <route>
  local dir="$1" route="$2"
  mkdir -p "$dir/src/__tests__/__snapshots__" "$dir/shims/sinon-fake-timers"
  git -C "$git_dir" show "$rev:$test_file" > "$dir/src/__tests__/modernFakeTimers.test.ts"
  if git -C "$git_dir" cat-file -e "$rev:$snap_file" 2>/dev/null; then
    git -C "$git_dir" show "$rev:$snap_file" > "$dir/src/__tests__/__snapshots__/modernFakeTimers.test.ts.snap"
  fi
  # makeProjectConfig: the test reads only rootDir (stack formatting) and fakeTimers.
  cat > "$dir/test-utils.js" <<'JS'
exports.makeProjectConfig = (overrides = {}) => ({ rootDir: process.cwd(), fakeTimers: {}, testMatch: [], ...overrides })
JS
  # Each route checks, at every useFakeTimers(), that the clock Jest installed is the route's:
  # seqloop's clocks are instances of its Clock class, sinon's are plain objects.
  local base="require('@jest/fake-timers').ModernFakeTimers" expect="'Clock'"
  [ "$route" = sinon ] && expect="'Object'"
  cat > "$dir/src/modernFakeTimers.js" <<JS
const { useSeqloopClock } = require('$repo_root/lib/jest-environment.js')
module.exports = class extends $base {
  constructor (options) { super(options); if ('$route' === 'environment') useSeqloopClock(this, options.global) }
  useFakeTimers (...args) {
    super.useFakeTimers(...args)
    if (this._clock.constructor.name !== $expect) throw new Error('jest-suite.sh: route $route installed the wrong clock')
  }
}
JS
  echo "module.exports = require('$repo_root/lib/fake-timers.js')" > "$dir/shims/sinon-fake-timers/index.js"
  echo "{ \"name\": \"@sinonjs/fake-timers\", \"version\": \"15.5.0\", \"main\": \"index.js\" }" > "$dir/shims/sinon-fake-timers/package.json"
  local overrides='{}'
  [ "$route" = override ] && overrides='{ "@sinonjs/fake-timers": "file:./shims/sinon-fake-timers" }'
  cat > "$dir/package.json" <<JSON
{ "name": "jest-suite-$route", "private": true,
  "devDependencies": { "jest": "$version", "@jest/fake-timers": "$version",
    "jest-environment-node": "$version", "@babel/preset-env": "^7", "@babel/preset-typescript": "^7" },
  "overrides": $overrides }
JSON
  echo "module.exports = { presets: [['@babel/preset-env', { targets: { node: 'current' } }], '@babel/preset-typescript'] }" > "$dir/babel.config.js"
  cat > "$dir/jest.config.js" <<'JS'
module.exports = { rootDir: __dirname, testMatch: ['<rootDir>/src/__tests__/*.test.ts'], moduleNameMapper: { '^@jest/test-utils$': '<rootDir>/test-utils.js' } }
JS
  (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
}

status=0
for route in "${routes[@]}"; do
  case "$route" in sinon|environment|override) ;; *) echo "unknown route $route" >&2; exit 2 ;; esac
  dir="$work/$route"
  setup "$dir" "$route"
  impl="$(cd "$dir" && node -p 'require.resolve("@sinonjs/fake-timers", { paths: [require.resolve("@jest/fake-timers")] })')"
  echo "=== route: $route (jest $(cd "$dir" && node -p 'require("jest/package.json").version'), @sinonjs/fake-timers -> ${impl#$dir/})"
  (cd "$dir" && node node_modules/jest/bin/jest.js --ci -c jest.config.js > "$work/$route.log" 2>&1) || status=1
  grep -E '^(Tests|Snapshots|Test Suites):|✕|  ● ' "$work/$route.log" || tail -n 30 "$work/$route.log"
done
exit $status
