#!/usr/bin/env bash
# Runs a library's own test suite twice: once as published (its @sinonjs/fake-timers, directly or
# through sinon's useFakeTimers), once with every load of @sinonjs/fake-timers answered by
# seqloop/fake-timers (scripts/lib-suite-hook.cjs, preloaded through NODE_OPTIONS). Nothing of the
# library is copied into this repository: the commit is extracted into a temporary folder and its
# dependencies installed there from npm, at the versions its package.json asks for.
#   scripts/lib-suite.sh [--only "name ..."] <git dir> <rev> -- <test command ...>
#   --only: install only these devDependencies (plus all dependencies), e.g. to skip linters.
# Prints each run's summary lines (node:test, mocha, ava, jest, tap) and exits 1 if either run failed.
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
only=""
if [ "${1:-}" = --only ]; then only="$2"; shift 2; fi
git_dir="${1:?usage: $0 [--only \"dev deps\"] <git dir> <rev> -- <test command ...>}"
rev="${2:?missing rev}"
[ "${3:-}" = -- ] || { echo "usage: $0 [--only \"dev deps\"] <git dir> <rev> -- <test command ...>" >&2; exit 2; }
shift 3
[ "$#" -ne 0 ] || { echo "missing test command" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git -C "$git_dir" archive "$rev" | tar -x -C "$work"
cd "$work"
name_version="$(node -p 'const p = require("./package.json"); p.name + "@" + p.version')"
echo "library: $name_version at $(git -C "$git_dir" rev-parse --short "$rev") ($git_dir)"
ONLY="$only" node -e '
  const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8"))
  const only = process.env.ONLY.split(/\s+/).filter(Boolean)
  if (only.length) {
    const dev = p.devDependencies || {}
    for (const n of only) if (!(n in dev)) { console.error(`--only: ${n} is not a devDependency`); process.exit(2) }
    p.devDependencies = Object.fromEntries(only.map((n) => [n, dev[n]]))
  }
  delete p.scripts; fs.writeFileSync("package.json", JSON.stringify(p, null, 2))'
rm -f package-lock.json yarn.lock pnpm-lock.yaml npm-shrinkwrap.json
npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
for dep in sinon @sinonjs/fake-timers; do
  v="$(node -p "try { require('$dep/package.json').version } catch { '' }" 2>/dev/null || true)"
  [ -n "$v" ] && echo "installed: $dep@$v"
done
export PATH="$work/node_modules/.bin:$PATH"

summary () { grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo) |^ +[0-9]+ (passing|failing|pending)|^ +[0-9]+ tests? (passed|failed)|^Tests:|^# (ok|not ok)|^[0-9]+ (tests? )?(passed|failed)' "$1" || tail -n 20 "$1"; }
status=0
echo "=== run 1: as published"
"$@" > "$work/.run-sinon.log" 2>&1 || status=1
summary "$work/.run-sinon.log"
echo "=== run 2: @sinonjs/fake-timers -> seqloop/fake-timers"
NODE_OPTIONS="${NODE_OPTIONS:-} --require $repo_root/scripts/lib-suite-hook.cjs" SEQLOOP_FAKE_TIMERS="$repo_root/lib/fake-timers.js" \
  "$@" > "$work/.run-seqloop.log" 2>&1 || status=1
summary "$work/.run-seqloop.log"
used="$(grep -c '\[lib-suite-hook\].*: seqloop/fake-timers loaded' "$work/.run-seqloop.log" || true)"
echo "processes that used seqloop/fake-timers in run 2: $used"
[ "$used" -gt 0 ] || { echo "run 2 never loaded seqloop/fake-timers: the redirection did not take" >&2; status=1; }
if [ -n "${LIB_SUITE_LOGS:-}" ]; then mkdir -p "$LIB_SUITE_LOGS" && cp "$work"/.run-*.log "$LIB_SUITE_LOGS/"; fi
exit $status
