#!/usr/bin/env bash
# The main job on one machine: builds fsched, starts a local cluster (one master,
# two workers) on embedded defaults, registers a sample function, runs 200
# invocations through it in two closed-loop stages (1 and 4 concurrent users)
# and prints their latencies. Results go to results/demo-<time>/: per-invocation
# CSV, text and JSON summaries, run-all-out.txt and PNG plots.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
FSCHED_TARGETS="fsched-master fsched-worker fschedctl fsched-bench"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target $FSCHED_TARGETS

RUN=results/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
TOKEN=demo-$RANDOM$RANDOM
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() {  # file pid
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "demo: process $2 exited; see $RUN/*.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "demo: no port in $1" >&2; exit 1
}

echo "== starting master"
build/master/fsched-master --listen 127.0.0.1:0 --port_file "$RUN/master.port" \
  --state_dir "$RUN/state" --join_token "$TOKEN" >"$RUN/master.log" 2>&1 &
pids+=($!); wait_port "$RUN/master.port" $!
MASTER=127.0.0.1:$(cat "$RUN/master.port")
for w in worker-1 worker-2; do
  build/worker/fsched-worker --master "$MASTER" --join_token "$TOKEN" --node_id $w --slots 2 \
    --port_file "$RUN/$w.port" >"$RUN/$w.log" 2>&1 &
  pids+=($!); wait_port "$RUN/$w.port" $!
done
CTL="build/tools/fschedctl --master $MASTER"
for _ in $(seq 1 100); do
  [ "$($CTL --json workers | grep -c WORKER_STATE_READY)" = 2 ] && break
  sleep 0.05
done
echo "== cluster at $MASTER"
$CTL workers

echo "== registering the sample function 'sha256' (sha256sum of its payload)"
$CTL register sha256 --timeout 10s --description "hash the payload" -- sha256sum
echo "== one invocation"
$CTL invoke sha256 --payload "hello fsched"
echo "== 200 invocations: 100 with 1 user, then 100 with 4 concurrent users"
build/tools/fsched-bench/fsched-bench --master "$MASTER" --function sha256 --requests 100 \
  --concurrency 1,4 --payload "request {i}" --label demo --out "$RUN"
echo "== plots"
tools/fsched-plot "$RUN"
echo "== per-function durations seen by the master"
$CTL durations
$CTL load
