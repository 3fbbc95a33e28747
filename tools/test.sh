#!/usr/bin/env bash
# Install what is missing, build with warnings as errors, and run every test with ctest:
# first a normal build (build/), then the same suite under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), then the libFuzzer targets over their seed corpora for
# a bounded time each (build-fuzz/: clang, only the parsers; fuzz/README.md).
# `tools/test.sh --fast` runs only the first.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

run_suite() {  # <build dir> <build type> <extra cmake args...>
  local dir=$1 type=$2
  shift 2
  BUILD_DIR=$dir BUILD_TYPE=$type tools/build.sh -DPG_WERROR=ON "$@"
  (cd "$dir" && ctest --output-on-failure -j 2 --timeout 300)
}

run_suite build RelWithDebInfo
if [ "${1:-}" != "--fast" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan Debug -DPG_SANITIZE=ON -DPG_BUILD_BENCH=OFF
  CC=clang-14 CXX=clang++-14 run_suite build-fuzz Debug -DPG_FUZZ=ON
fi
