#!/usr/bin/env bash
# Runs a library's own test suite twice: once as published (its @sinonjs/fake-timers, directly or
# through sinon's useFakeTimers), once with every load of @sinonjs/fake-timers answered by
# seqloop/fake-timers (scripts/lib-suite-hook.cjs, preloaded through NODE_OPTIONS). Nothing of the
# library is copied into this repository: the commit is extracted into a temporary folder and its
# dependencies installed there from npm, at the versions its package.json asks for.
#   scripts/lib-suite.sh [--only "name ..."] [--override] [--legacy-defaults] <git dir> <rev> -- <test command ...>
#   --only: install only these devDependencies (plus all dependencies), e.g. to skip linters;
#           `name@range` replaces the range the library asks for (e.g. to try a newer sinon).
#   --override: before run 2, also reinstall with the README's npm override (@sinonjs/fake-timers
#           replaced by a shim package re-exporting seqloop/fake-timers), for runners such as Jest
#           whose module registry does not go through Node's resolver.
#   --legacy-defaults: in run 2, an install() that names no timers leaves nextTick and
#           queueMicrotask real, as @sinonjs/fake-timers before 13 did (for suites pinned to those).
# Prints each run's summary lines (node:test, mocha, ava, jest, tap) and exits 1 if either run failed.
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
only=""
override=0
while :; do
  case "${1:-}" in
    --only) only="$2"; shift 2 ;;
    --override) override=1; shift ;;
    --legacy-defaults) export SEQLOOP_LEGACY_DEFAULTS=1; shift ;;
    *) break ;;
  esac
done
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
    const pick = only.map((spec) => { const at = spec.indexOf("@", 1); return at < 0 ? [spec, dev[spec]] : [spec.slice(0, at), spec.slice(at + 1)] })
    for (const [n, range] of pick) if (range === undefined) { console.error(`--only: ${n} is not a devDependency`); process.exit(2) }
    p.devDependencies = Object.fromEntries(pick)
  }
  delete p.scripts; fs.writeFileSync("package.json", JSON.stringify(p, null, 2))'
rm -f package-lock.json yarn.lock pnpm-lock.yaml npm-shrinkwrap.json
npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
for dep in sinon @sinonjs/fake-timers; do
  v="$(node -p "try { require('$dep/package.json').version } catch { '' }" 2>/dev/null || true)"
  [ -n "$v" ] && echo "installed: $dep@$v"
done
export PATH="$work/node_modules/.bin:$PATH"

summary () { grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo) |^# failed [0-9]+ of |^(not )?ok [0-9]+ - .*\.[cm]?[jt]s |^ +[0-9]+ (passing|failing|pending)|^ +[0-9]+ tests? (passed|failed)|^Tests:|^# (ok|not ok)|^[0-9]+ (tests? )?(passed|failed)' "$1" || tail -n 20 "$1"; }
status=0
echo "=== run 1: as published"
"$@" > "$work/.run-sinon.log" 2>&1 || status=1
summary "$work/.run-sinon.log"
echo "=== run 2: @sinonjs/fake-timers -> seqloop/fake-timers"
if [ "$override" = 1 ]; then
  mkdir -p "$work/.seqloop-shim"
  echo "module.exports = require('$repo_root/lib/fake-timers.js')" > "$work/.seqloop-shim/index.js"
  echo '{ "name": "@sinonjs/fake-timers", "version": "15.5.0", "main": "index.js" }' > "$work/.seqloop-shim/package.json"
  node -e '
    const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8"))
    p.overrides = { ...p.overrides, "@sinonjs/fake-timers": "file:./.seqloop-shim" }
    fs.writeFileSync("package.json", JSON.stringify(p, null, 2))'
  rm -rf node_modules
  npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
  echo "override: every @sinonjs/fake-timers in node_modules is now the shim:"
  find node_modules -path '*/@sinonjs/fake-timers' \( -type l -o -type d \) | while read -r d; do echo "  $d -> $(readlink -f "$d" | sed "s#$work/##")"; done
fi
SEQLOOP_LEGACY_DEFAULTS="${SEQLOOP_LEGACY_DEFAULTS:-0}" NODE_OPTIONS="${NODE_OPTIONS:-} --require $repo_root/scripts/lib-suite-hook.cjs" SEQLOOP_FAKE_TIMERS="$repo_root/lib/fake-timers.js" \
  "$@" > "$work/.run-seqloop.log" 2>&1 || status=1
summary "$work/.run-seqloop.log"
used="$(grep -c '\[lib-suite-hook\].*: seqloop/fake-timers loaded' "$work/.run-seqloop.log" || true)"
echo "processes that used seqloop/fake-timers in run 2: $used"
[ "$used" -gt 0 ] || [ "$override" = 1 ] || { echo "run 2 never loaded seqloop/fake-timers: the redirection did not take" >&2; status=1; }
if [ -n "${LIB_SUITE_LOGS:-}" ]; then mkdir -p "$LIB_SUITE_LOGS" && cp "$work"/.run-*.log "$LIB_SUITE_LOGS/"; fi
exit $status
