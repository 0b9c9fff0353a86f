#!/usr/bin/env bash
# The main job on one machine: builds fsched, starts a local cluster (one master,
# two workers) on embedded defaults, registers a sample function, runs 200
# invocations through it in two closed-loop stages (1 and 4 concurrent users)
# and prints their latencies; then a Python handler in a persistent instance,
# cold (its import) then warm. Where runc can run containers, the same function
# then runs in a container: pre-warmed once, then warm. Results go to
# results/demo-<time>/: per-invocation CSV, text and JSON summaries,
# run-all-out.txt and PNG plots.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
FSCHED_TARGETS="fsched-master fsched-worker fsched-shim fschedctl fsched-bench"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target $FSCHED_TARGETS

RUN=results/demo-$(date +%Y%m%d-%H%M%S)
. scripts/lib/cluster.sh
. scripts/lib/rootfs.sh
echo "== starting master and two workers"
start_cluster "$RUN" 2 2
echo "== cluster at $MASTER"
$CTL workers

echo "== registering the sample function 'sha256' (sha256sum of its payload)"
$CTL register sha256 --timeout 10s --description "hash the payload" -- sha256sum
echo "== one invocation"
$CTL invoke sha256 --payload "hello fsched"
echo "== the same over HTTP (docs/http.md): curl at $HTTP"
curl -sS -X POST "$HTTP/function/sha256" --data-binary "hello fsched" \
  -H "Authorization: Bearer $(cat "$FSCHED_TOKEN_FILE")" -D - | grep -iE "^(HTTP|x-fsched-(worker|mode))|^[0-9a-f]{64}"
echo "== 200 invocations: 100 with 1 user, then 100 with 4 concurrent users"
build/tools/fsched-bench/fsched-bench --master "$MASTER" --function sha256 --requests 100 \
  --concurrency 1,4 --payload "request {i}" --label demo --out "$RUN"
echo "== plots"
tools/fsched-plot "$RUN"

echo "== a Python handler in a persistent instance: its import (0.3 s) runs once, warm calls reuse it"
mkdir -p "$RUN/code"
cat >"$RUN/code/hello.py" <<'PY'
import hashlib, time
time.sleep(0.3)  # stands for an expensive import (a model, a library)
calls = 0

def handle(payload):
    global calls
    calls += 1
    return "%s (call %d on this instance)" % (hashlib.sha256(payload).hexdigest(), calls)
PY
tar -C "$RUN/code" -cf "$RUN/code.tar" hello.py
$CTL register hello-py --runtime python --code "$RUN/code.tar" --handler hello:handle
# warm-first: calls go where an initialised instance waits (workers report theirs).
$CTL policy --placement warm-first
$CTL invoke hello-py --payload "hello fsched"
$CTL invoke hello-py --payload "hello fsched"
build/tools/fsched-bench/fsched-bench --master "$MASTER" --function hello-py --requests 100 \
  --concurrency 1 --payload "request {i}" --label demo-python --out "$RUN/python"
$CTL policy --placement round-robin
echo "== metrics: Prometheus text at http://127.0.0.1:$(cat "$RUN/master.metrics-port")/metrics (master)" \
  "and :$(cat "$RUN/worker-1.metrics-port")/metrics (worker-1); a few lines:"
scrape_metrics "$(cat "$RUN/master.metrics-port")" \
  '^fsched_(invocations_total|invocation_duration_seconds_(count|sum)|workers\{state="ready"|slots )'
scrape_metrics "$(cat "$RUN/worker-1.metrics-port")" '^fsched_worker_executions_total'

if $CTL workers | grep -q runc; then
  echo "== the same function in a runc container (busybox root filesystem, one pre-created)"
  make_busybox_rootfs "$RUN/rootfs"
  $CTL register sha256-boxed --rootfs "$(realpath "$RUN/rootfs")" --memory 64MiB --prewarmed 1 \
    -- sha256sum
  sleep 1.5  # the pre-warm command reaches the workers with their next heartbeat
  $CTL invoke sha256-boxed --payload "hello container"
  build/tools/fsched-bench/fsched-bench --master "$MASTER" --function sha256-boxed --requests 100 \
    --concurrency 4 --warmup 1s --payload "request {i}" --label demo-container \
    --out "$RUN/container"
else
  echo "== containers: skipped, the workers offer no runc runtime:"
  grep -h "runc runtime off" "$RUN"/worker-1.log || true
fi
echo "== per-function durations seen by the master"
$CTL durations
$CTL load
