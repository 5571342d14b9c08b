#!/usr/bin/env bash
# CI check of the WebAssembly fallback (`seqloop-wasm32-wasi`, docs/wasm.md): what a macOS or
# Windows user installs, run here on Linux with NAPI_RS_FORCE_WASI=1.
#  1. packs the main package and the wasm package (`npm run release:pack` with
#     SEQLOOP_RELEASE_TARGETS=wasm32-wasip1-threads), or reuses ci-release's tarballs when
#     SEQLOOP_DIST already holds a seqloop-wasm32-wasi tarball;
#  2. installs both into a fresh consumer project (plus the test tools the tests use: jest,
#     vitest, mocha, @sinonjs/fake-timers at the repository's versions) and copies __test__ into
#     the installed package (node_modules/seqloop/__test__, and examples/ for the explore
#     walkthrough), so every `require('..')` and `require('seqloop/...')` of the tests loads the
#     installed package, unchanged;
#  3. under Node 20, 22 and 24, with NAPI_RS_FORCE_WASI=1: checks the binding really is the wasm
#     one, runs the fake-timer (diagnostics included), scheduler, EventLoop (virtual and wall
#     clock), replay, explore and runner adapter node tests plus the wasm-only checks
#     (__test__/wasm.test.js; the model test at SEQLOOP_MODEL_OPS=5000 per seed instead of
#     50000: minutes on wasm); the Jest projects (Node 20, 22) and the Vitest projects (Node 22,
#     24) of scripts/ci-runners.sh;
#  4. the fallback without NAPI_RS_FORCE_WASI: with no native package installed, `seqloop` loads the
#     wasm one; with optional dependencies omitted, ERR_NATIVE_BINDING_MISSING names both packages;
#  5. sinon's own suite against the installed seqloop/fake-timers, where a snapshot of
#     sinonjs/fake-timers exists (SINON_GIT or the machine's mirror).
# Needs the root `npm ci` (emnapi and @napi-rs/wasm-runtime are dev dependencies) and rustup.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
start=$(date +%s)
step() { echo "ci-wasm [$(($(date +%s) - start))s]: $*" >&2; }

[ -d node_modules/emnapi ] || npm ci

# --- 1. tarballs --------------------------------------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -n "${SEQLOOP_DIST:-}" ] && ls "$SEQLOOP_DIST"/seqloop-wasm32-wasi-*.tgz >/dev/null 2>&1; then
  dist="$SEQLOOP_DIST"
  step "reusing the tarballs in $dist"
else
  dist="$work/dist"
  step "npm run release:pack (wasm32-wasip1-threads only)"
  SEQLOOP_DIST="$dist" SEQLOOP_RELEASE_TARGETS=wasm32-wasip1-threads npm run --silent release:pack >&2
fi
main="$(ls "$dist"/seqloop-[0-9]*.tgz)"
wasm="$(ls "$dist"/seqloop-wasm32-wasi-*.tgz)"
tar -xzOf "$main" package/package.json | grep -q '"seqloop-wasm32-wasi"' \
  || { echo "ci-wasm: $main does not list seqloop-wasm32-wasi in optionalDependencies" >&2; exit 1; }

# --- 2. consumer --------------------------------------------------------------------------------
step "consumer install"
consumer="$work/consumer"
mkdir -p "$consumer"
tools=()
for p in jest jest-environment-node @jest/fake-timers vitest @sinonjs/fake-timers mocha; do
  tools+=("$p@$(node -p "require('./node_modules/$p/package.json').version")")
done
(
  cd "$consumer"
  npm init -y >/dev/null
  npm install --prefer-offline --no-audit --no-fund "${tools[@]}" >&2
  # Offline (the tools' metadata is cached by now): only the wasm package, never a native one
  # from a registry, whatever a full pack's optionalDependencies list (they are skipped).
  npm install --offline --no-audit --no-fund "$main" "$wasm" >&2
)
pkg="$consumer/node_modules/seqloop"
if ls "$consumer"/node_modules/seqloop-linux-* >/dev/null 2>&1; then
  echo "ci-wasm: a native platform package was installed" >&2; exit 1
fi
cp -R __test__ "$pkg/__test__"
# The explore tests run the README walkthrough, examples/explore-search.js (not in the package).
cp -R examples "$pkg/examples"
mkdir -p "$consumer/runners"
cp -R __test__/jest "$consumer/runners/jest"
cp -R __test__/vitest "$consumer/runners/vitest"
cp -R __test__/fixtures "$consumer/runners/fixtures"
rm -rf "$consumer/runners/jest/override"

tests=(fake_timers fake_timers_queue fake_timers_diagnostics scheduler scheduler_model timer_queue event_loop
  replay replay_event_loop explore runners observability wasm)
test_files=()
for t in "${tests[@]}"; do test_files+=("$pkg/__test__/$t.test.js"); done

# Runs a command in the consumer with its output in a log: a summary when it passes, the end of
# the log when it fails (then the script stops).
run_logged() { # run_logged <log> <summary regex> <command...>
  local log="$1" summary="$2"; shift 2
  if (cd "$consumer" && "$@") >"$log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "$summary" || true
  else
    sed 's/\x1b\[[0-9;]*m//g' "$log" | tail -n 80
    echo "ci-wasm: failed: $*" >&2
    exit 1
  fi
}

# --- 3. Node 20, 22, 24 with NAPI_RS_FORCE_WASI=1 -----------------------------------------------
export NAPI_RS_FORCE_WASI=1
# The model test's 1e6 operations take minutes on the wasm build; its seeds at 5000 ops each keep
# the comparison with the model (the full size runs natively in `npm test`).
export SEQLOOP_MODEL_OPS="${SEQLOOP_MODEL_OPS:-5000}"
for major in 20 22 24; do
  node_bin="$(scripts/node.sh "$major")"
  step "Node $major ($("$node_bin" --version)): binding"
  (cd "$consumer" && "$node_bin" -e '
    const native = require(require.resolve("seqloop").replace(/index\.js$/, "native.js"))
    if (native.__napiBindingTarget !== "wasm32-wasi") throw new Error("loaded " + native.__napiBindingTarget)
    const { createClock } = require("seqloop/fake-timers")
    const clock = createClock(); let fired = 0
    clock.setTimeout(() => fired++, 10); clock.tick(10)
    if (fired !== 1) throw new Error("a fake timer did not fire")
    console.log("binding: " + native.__napiBindingTarget)
  ')
  step "Node $major: node tests (${tests[*]})"
  run_logged "$work/node-$major.log" '^# (tests|pass|fail|skipped)' \
    env PATH="$(dirname "$node_bin"):$PATH" "$node_bin" --test --test-reporter=tap --expose-gc "${test_files[@]}"
  if [ "$major" != 24 ]; then
    step "Node $major: jest projects (testEnvironment seqloop/jest-environment)"
    run_logged "$work/jest-$major.log" '^(Tests|Test Suites):' \
      "$node_bin" node_modules/jest/bin/jest.js --ci -c runners/jest/jest.config.js
  fi
  if [ "$major" != 20 ]; then
    step "Node $major: vitest projects (setupFiles seqloop/vitest)"
    run_logged "$work/vitest-$major.log" '^ +(Test Files|Tests) ' \
      "$node_bin" node_modules/vitest/vitest.mjs run -c runners/vitest/vitest.config.mjs
  fi
done
unset NAPI_RS_FORCE_WASI

# --- 4. the fallback without the variable, and the error without the package --------------------
step "fallback: no native package installed, no NAPI_RS_FORCE_WASI"
(cd "$consumer" && node -e '
  const native = require(require.resolve("seqloop").replace(/index\.js$/, "native.js"))
  if (native.__napiBindingTarget !== "wasm32-wasi") throw new Error("loaded " + native.__napiBindingTarget)
  console.log("fallback: " + native.__napiBindingTarget)
')
mkdir -p "$work/main-only" && (
  cd "$work/main-only"
  npm init -y >/dev/null
  npm install --offline --no-audit --no-fund --omit=optional "$main" >&2
  node -e '
    try { require("seqloop") } catch (e) {
      if (e.code !== "ERR_NATIVE_BINDING_MISSING" || !/seqloop-wasm32-wasi/.test(e.message)) throw e
      console.log("main package alone: " + e.code)
      process.exit(0)
    }
    throw new Error("seqloop loaded without a platform package")
  '
  NAPI_RS_FORCE_WASI=1 node -e '
    try { require("seqloop") } catch (e) {
      if (e.code !== "ERR_NATIVE_BINDING_MISSING" || !/NAPI_RS_FORCE_WASI/.test(e.message)) throw e
      console.log("main package alone, NAPI_RS_FORCE_WASI=1: " + e.code)
      process.exit(0)
    }
    throw new Error("seqloop loaded without the wasm package")
  '
)

# --- 5. sinon's own suite -----------------------------------------------------------------------
sinon_git=""
for d in "${SINON_GIT:-}" ../.mirror/sinonjs+fake-timers/repo /work/.mirror/sinonjs+fake-timers/repo; do
  if [ -n "$d" ] && [ -d "$d" ]; then sinon_git="$(cd "$d" && pwd)"; break; fi
done
suite="$root/../shared/tools/sinon-suite.sh"
if [ -n "$sinon_git" ] && [ -x "$suite" ]; then
  step "sinon's own test suite against the installed seqloop/fake-timers (wasm)"
  # The scratch keeps its mocha/jsdom install between runs (outside the temp folder).
  (cd "$consumer" && NAPI_RS_FORCE_WASI=1 SINON_SUITE_SCRATCH="${HOME:-/root}/.cache/seqloop/sinon-suite-wasm" \
    "$suite" "$sinon_git" | tail -n 4)
else
  step "sinon's own test suite: skipped (no snapshot; set SINON_GIT to a sinonjs/fake-timers git dir)"
fi
step "done in $(($(date +%s) - start))s"
