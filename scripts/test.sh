#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, runs
# every unit and integration test, then does it again under ASan+UBSan.
#   scripts/test.sh            everything
#   FSCHED_SKIP_SANITIZERS=1   only the regular build (a quicker local loop)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

echo "== build (RelWithDebInfo)"
./scripts/build.sh build
echo "== tests"
# Four at a time on two cores: the tests mostly wait on the processes and timers
# they start (CPU busy ~40 % of the run at -j 2), see tests/README.md.
ctest --test-dir build --output-on-failure -j 4

if [ "${FSCHED_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (ASan+UBSan)"
  # Benchmarks measure nothing under the sanitizers; the regular build has them.
  ./scripts/build.sh build-asan -DFSCHED_SANITIZE=ON -DFSCHED_BUILD_BENCHMARKS=OFF
  echo "== tests under ASan+UBSan"
  # gRPC's own threads keep some allocations until exit; leak checking would
  # report Debian's library, not fsched, so it is left to valgrind runs.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j 4
fi
echo "== all tests passed"
