#!/usr/bin/env bash
# Runs Vitest's own FakeTimers test suite (test/{unit,core}/test/fixtures/timers.suite.ts of a
# vitest-dev/vitest snapshot) against seqloop/vitest's ViTimers, the class behind `vi`'s timer
# methods, in both worker pools under Node 22. Nothing of Vitest's is copied into this repository:
# the suite is extracted into a temporary folder, its one import of Vitest's FakeTimers rewritten.
# ViTimers follows the rules of the snapshot's Vitest release (packages/vitest/package.json at that
# commit) where Vitest 5 releases differ; VITEST_VERSION=5.1.2 makes it follow another release's.
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
exit $status
