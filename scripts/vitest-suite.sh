#!/usr/bin/env bash
# Runs Vitest's own FakeTimers test suite (test/{unit,core}/test/fixtures/timers.suite.ts of a
# vitest-dev/vitest snapshot) against seqloop/vitest's ViTimers, the class behind `vi`'s timer
# methods, in both worker pools under Node 22. Nothing of Vitest's is copied into this repository:
# the suite is extracted into a temporary folder, its one import of Vitest's FakeTimers rewritten.
# ViTimers follows the rules of the snapshot's Vitest release (packages/vitest/package.json at that
# commit) where Vitest 5 releases differ; VITEST_VERSION=5.1.2 makes it follow another release's.
# Then Vitest's own unit tests that use `vi.useFakeTimers` (test/unit/test/*.ts that import only
# vitest and node: modules and run in the node environment) run once as Vitest ships (its own
# sinon) and once per pool with `setupFiles: ['seqloop/vitest']`, plus a check that every
# vi.useFakeTimers() installed a seqloop clock. That part runs under the installed Vitest.
#   scripts/vitest-suite.sh /path/to/vitest/.git-or-bare-repo [commit]
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
git_dir="${1:?usage: $0 <vitest git dir> [commit]}"
rev="${2:-HEAD}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

suite=""
for path in test/unit/test/fixtures/timers.suite.ts test/core/test/fixtures/timers.suite.ts; do
  if git -C "$git_dir" cat-file -e "$rev:$path" 2>/dev/null; then suite="$path"; break; fi
done
[ -n "$suite" ] || { echo "no timers.suite.ts at $rev in $git_dir" >&2; exit 2; }
version="${VITEST_VERSION:-$(git -C "$git_dir" show "$rev:packages/vitest/package.json" | sed -n 's/^  "version": "\(.*\)",$/\1/p')}"
[ -n "$version" ] || { echo "no packages/vitest/package.json version at $rev" >&2; exit 2; }
echo "suite: $suite at $(git -C "$git_dir" rev-parse --short "$rev"), ViTimers following Vitest $version"

git -C "$git_dir" show "$rev:$suite" \
  | sed "s#^import { FakeTimers } from .*integrations/mock/timers'#import { createRequire } from 'node:module'\nconst { ViTimers } = createRequire(import.meta.url)('$repo_root/lib/vitest.js')\nclass FakeTimers extends ViTimers { constructor (options) { super({ ...options, vitestVersion: '$version' }) } }#" \
  > "$work/timers.suite.test.ts"
grep -q 'class FakeTimers extends ViTimers' "$work/timers.suite.test.ts" || { echo "the suite's FakeTimers import moved" >&2; exit 2; }

node_bin="$("$repo_root/scripts/node.sh" 22)"
status=0
for pool in forks threads; do
  printf 'export default { test: { root: %s, include: ["*.test.ts"], pool: "%s" } }\n' "'$work'" "$pool" > "$work/vitest.config.mjs"
  echo "=== pool: $pool"
  (cd "$repo_root" && "$node_bin" node_modules/vitest/vitest.mjs run -c "$work/vitest.config.mjs") || status=1
done

vi_dir="$work/vi"
mkdir -p "$vi_dir"
files=()
for path in $(git -C "$git_dir" grep -l 'vi.useFakeTimers' "$rev" -- 'test/unit/test/*.ts' | sed "s#^$rev:##"); do
  src="$(git -C "$git_dir" show "$rev:$path")"
  if grep -q '@vitest-environment' <<<"$src" || grep "from '" <<<"$src" | grep -qvE "from '(vitest|node:[a-z/_]+)'"; then
    echo "(skipped $path: needs another environment or package)"; continue
  fi
  printf '%s\n' "$src" > "$vi_dir/$(basename "$path")"
  files+=("$(basename "$path")")
done
[ "${#files[@]}" -ne 0 ] || { echo "no vi.useFakeTimers tests at $rev" >&2; exit 2; }
# timers-temporal.test.ts loads temporal-polyfill where Node has no Temporal
(cd "$vi_dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --prefer-offline --loglevel=error temporal-polyfill >/dev/null)
cat > "$vi_dir/check-clock.mjs" <<JS
// After every vi.useFakeTimers(), the faked setTimeout belongs to the seqloop clock behind vi.
import { vi } from 'vitest'
import { currentClock } from '$repo_root/lib/vitest.mjs'
const use = vi.useFakeTimers
vi.useFakeTimers = function (...args) {
  const result = use.apply(this, args)
  const clock = currentClock()
  if (!clock || clock.constructor.name !== 'Clock' || globalThis.setTimeout.clock !== clock) {
    throw new Error('vitest-suite.sh: vi.useFakeTimers() did not install a seqloop clock')
  }
  return result
}
JS
echo "=== vi tests: ${files[*]} (Vitest $(cd "$repo_root" && "$node_bin" -p 'require("vitest/package.json").version'))"
for run in "vitest threads" "seqloop forks" "seqloop threads"; do
  set -- $run
  setup=""
  [ "$1" = seqloop ] && setup="setupFiles: ['$repo_root/lib/vitest.mjs', '$vi_dir/check-clock.mjs'],"
  printf 'export default { test: { root: %s, include: ["*.ts"], %s pool: "%s" } }\n' "'$vi_dir'" "$setup" "$2" > "$vi_dir/vitest.config.mjs"
  echo "=== vi tests on $1's clock, pool: $2"
  (cd "$repo_root" && "$node_bin" node_modules/vitest/vitest.mjs run -c "$vi_dir/vitest.config.mjs") || status=1
done
exit $status
