#!/usr/bin/env bash
# Reproduces docs/evaluation.md: each seed's experiment on a local fsched
# cluster, with fsched-bench and fsched-plot. Results and plots go to
# results/evaluation/<experiment>/<run>/; the plots for the docs to
# results/evaluation/<experiment>/.
#   scripts/evaluate.sh                 every experiment (about 90 minutes)
#   RUNS=1 scripts/evaluate.sh ...      one run of each repeated experiment (3 by default)
#   RUN_FIRST=3 scripts/evaluate.sh seed001   resumes seed001 at run 3, keeping runs 1-2
#   scripts/evaluate.sh seed000 replay  only those
# Experiments: overhead seed000 seed001 seed002 seed002-runtimes replay
#              containers containers-containerd cpu-priority gateway cache
#              soak (not in the default list: 10 minutes of memory, docs/operations.md)
#              durability (not in the default list: the cost of durable invocations)
#              recovery (not in the default list: a master killed and restarted)
#              throughput (not in the default list: warm calls/s and CPU per process)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target fsched-master fsched-worker fsched-shim fschedctl \
  fsched-bench spawn_bench rpc_floor_bench
. scripts/lib/cluster.sh
. scripts/lib/rootfs.sh
. scripts/lib/containerd.sh

OUT=results/evaluation
BENCH=build/tools/fsched-bench/fsched-bench
experiments=("$@")
[ ${#experiments[@]} -gt 0 ] ||
  experiments=(overhead seed000 seed001 seed002 seed002-runtimes replay containers
    containers-containerd cpu-priority gateway cache)

# A function that sleeps for its first argument: service time without CPU
# work, so two cores can host many slots and the scheduler, not the CPU, is
# what the experiment sees.
register_sleep() {  # name [seconds]
  if [ $# -gt 1 ]; then
    $CTL register "$1" --timeout 120s -- sh -c 'exec sleep "$0"' "$2" >/dev/null
  else
    $CTL register "$1" --timeout 120s -- sh -c 'exec sleep "$0"' >/dev/null
  fi
}

# The driver's own accuracy: open-loop levels up to 2,000 req/s against a
# master with no workers (each call is admitted and held, so the driver and
# the master's admission are all that run), then against a full cluster whose
# fork/exec per call saturates two cores, where the driver must say it fell behind.
overhead() {
  local dir=$OUT/overhead run
  rm -rf "$dir"
  for run in $(seq 1 "${RUNS:-3}"); do
    start_cluster "$dir/driver-only-$run-cluster" 0 1
    $CTL register noop -- true >/dev/null
    $BENCH --master "$MASTER" --function noop --rates 500,1000,2000 --duration 10s --seed "$run" \
      --call_timeout 30s --label driver-only --out "$dir/driver-only-$run" |
      tee "$dir/driver-only-$run.txt" || true
    stop_cluster
    start_cluster "$dir/cluster-$run-cluster" 2 4
    $CTL register noop -- true >/dev/null
    $BENCH --master "$MASTER" --function noop --rates 100,200,400,2000 --duration 10s \
      --seed "$run" --label cluster --out "$dir/cluster-$run" | tee "$dir/cluster-$run.txt" || true
    stop_cluster
  done
  tools/fsched-runs "$dir"/{driver-only,cluster} --metrics sent_rate,lag_p99,lag_max,throughput,mean |
    tee "$dir/runs.md"
}

# Seed 000 (aging SRTF on Knative): Poisson arrivals at 2, 5 and 15 req/s of a
# mix of short, medium and long functions, FIFO against aging SRTF.
seed000() {
  local dir=$OUT/seed000
  rm -rf "$dir"
  local run order
  for run in $(seq 1 "${RUNS:-3}"); do
    for order in fifo aging-srtf; do
      start_cluster "$dir/$order-$run/cluster" 2 8 "scheduler: {queue_order: $order}"
      register_sleep short 0.05
      register_sleep medium 0.5
      register_sleep long 3
      # Each run its own arrivals (seed = run), the same for both orders.
      $BENCH --master "$MASTER" --function short,medium,long --rates 2,5,15 --duration 30s \
        --seed "$run" --label "$order" --out "$dir/$order-$run" | tee "$dir/$order-$run.txt"
      stop_cluster
    done
  done
  tools/fsched-plot "$dir/fifo-1" "$dir/aging-srtf-1" --out "$dir"
  tools/fsched-plot "$dir/fifo-1" "$dir/aging-srtf-1" --only "Poisson 15 req/s" --by function \
    --out "$dir/15rps"
  tools/fsched-runs "$dir"/{fifo,aging-srtf} --metrics mean,p50,p95,p99,throughput |
    tee "$dir/runs.md"
}

# Seed 001 (tail-latency aware architectures): its testbed's topology on one
# machine (a master, two zones of a zone master and two 4-slot workers,
# links emulated at 10 ms in a zone, 20 ms across, 60 ms to the master), calls
# entering at the four workers in turn, closed loop at 2 to 40 users, per
# architecture and dynamic. Deadline 500 ms (5x the 100 ms service time).
seed001() {
  local dir=$OUT/seed001
  [ "${RUN_FIRST:-1}" -gt 1 ] || rm -rf "$dir"
  local net="network_emulation: {same_zone: 10ms, cross_zone: 20ms, master: 60ms}"
  local run arch
  mkdir -p "$dir"
  for run in $(seq "${RUN_FIRST:-1}" "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    for arch in centralized federated decentralized dynamic; do
      start_federation "$dir/$arch-$run/cluster" 4 "$net"
      register_sleep io 0.1
      wait_mirrored 1
      # The selector's state at one entry node (worker a1), every 2 s.
      local a1=${WORKER_ADDRESSES%%,*} sampler
      while :; do
        echo "$(date +%s.%N) $(build/tools/fschedctl --master "$a1" --json arch io | tr -d '\n')"
        sleep 2
      done >"$dir/$arch-$run/ratios.jsonl" 2>/dev/null &
      sampler=$!
      $BENCH --entry worker --entries "$WORKER_ADDRESSES" --function io --architecture "$arch" \
        --concurrency 2,5,10,20,40 --stage_duration 15s --warmup 3s --deadline 500ms \
        --label "$arch" --out "$dir/$arch-$run" | tee "$dir/$arch-$run.txt" ||
        true  # calls refused at 40 users (RESOURCE_EXHAUSTED) are results, not a failed script
      kill $sampler
      stop_cluster
    done
  done
  tools/fsched-plot "$dir/centralized-1" "$dir/federated-1" "$dir/decentralized-1" \
    "$dir/dynamic-1" --ratios "$dir/dynamic-1/ratios.jsonl" --out "$dir"
  tools/fsched-runs "$dir"/{centralized,federated,decentralized,dynamic} \
    --metrics mean,p95,deadline_missed,throughput | tee "$dir/runs.md"
}

# Seed 002 (FaaS scheduler testbed): 100 sequential cycles of a light and a
# heavy CPU-bound function on four single-slot workers, per placement policy.
seed002() {
  local dir=$OUT/seed002
  rm -rf "$dir"
  local run placement
  for run in $(seq 1 "${RUNS:-3}"); do
    for placement in round-robin least-loaded most-loaded; do
      start_cluster "$dir/$placement-$run/cluster" 4 1 "scheduler: {placement: $placement}"
      $CTL register light -- sh -c 'i=0; while [ $i -lt 15000 ]; do i=$((i+1)); done' >/dev/null
      $CTL register heavy -- sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' >/dev/null
      $BENCH --master "$MASTER" --function light,heavy --cycles 100 --label "$placement" \
        --out "$dir/$placement-$run" | tee "$dir/$placement-$run.txt"
      stop_cluster
    done
  done
  tools/fsched-plot "$dir/round-robin-1" "$dir/least-loaded-1" "$dir/most-loaded-1" --out "$dir"
  tools/fsched-runs "$dir"/{round-robin,least-loaded,most-loaded} --metrics mean,p50,p95,p99 |
    tee "$dir/runs.md"
}

# Seed 002's cold / pre-warmed / warm comparison with fsched's Python runtime,
# where warm means an initialised instance: light-init (heavy compute: 15,000
# chained SHA-256 digests, the seed's loop_function.py 15000) and heavy-init
# (light compute: a 300 ms initialisation standing for a heavy image). One
# worker with one slot; cold and warm one call at a time, pre-warmed at 1
# req/s Poisson so the worker re-creates what a call used.
seed002_runtimes() {
  local dir=$OUT/seed002-runtimes run fn mode
  rm -rf "$dir"
  mkdir -p "$dir/code"
  cat >"$dir/code/compute.py" <<'PY'
import hashlib

def handle(payload):
    digest = payload
    for _ in range(15000):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()
PY
  cat >"$dir/code/bigimage.py" <<'PY'
import time
time.sleep(0.3)  # stands for a heavy image's initialisation

def handle(payload):
    return payload
PY
  for run in $(seq 1 "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    start_cluster "$dir/cluster-$run" 1 1
    for fn in light-init:compute heavy-init:bigimage; do
      local name=${fn%%:*} module=${fn#*:}
      local code=(--runtime python --code "$(realpath "$dir/code")" --handler "$module:handle")
      $CTL register "$name-cold" "${code[@]}" --keep_alive 0s >/dev/null
      $CTL register "$name-prewarmed" "${code[@]}" --keep_alive 0s --prewarmed 1 >/dev/null
      $CTL register "$name-warm" "${code[@]}" >/dev/null
    done
    sleep 2  # the pre-warmed instances start
    for fn in light-init heavy-init; do
      $BENCH --master "$MASTER" --function "$fn-cold" --payload x --concurrency 1 --requests 30 \
        --label "$fn-cold" --out "$dir/$fn-cold-$run" | tee "$dir/$fn-cold-$run.txt"
      $BENCH --master "$MASTER" --function "$fn-prewarmed" --payload x --rates 1 --duration 30s \
        --seed "$run" --label "$fn-prewarmed" --out "$dir/$fn-prewarmed-$run" |
        tee "$dir/$fn-prewarmed-$run.txt"
      $BENCH --master "$MASTER" --function "$fn-warm" --payload x --concurrency 1 --requests 30 \
        --warmup 1s --label "$fn-warm" --out "$dir/$fn-warm-$run" | tee "$dir/$fn-warm-$run.txt"
    done
    stop_cluster
  done
  local prefixes=()
  for fn in light-init heavy-init; do
    for mode in cold prewarmed warm; do prefixes+=("$dir/$fn-$mode"); done
  done
  tools/fsched-plot "${prefixes[@]/%/-1}" --out "$dir"
  tools/fsched-runs "${prefixes[@]}" --metrics mean,p50,p99,execution | tee "$dir/runs.md"
}

# Azure Functions 2019 trace (10 functions, one day), its first minutes
# replayed with arrival times stretched 2.35x (about 80 % of 12 slots, by
# fsched-sim) onto one sleeping function that takes each call's
# traced duration, FIFO against aging SRTF.
replay() {
  local dir=$OUT/replay
  rm -rf "$dir"
  local run order
  for run in $(seq 1 "${RUNS:-3}"); do
    for order in fifo aging-srtf; do
      start_cluster "$dir/$order-$run/cluster" 2 6 "scheduler: {queue_order: $order}"
      register_sleep sleep
      # The same minute of the trace; each run draws its durations with seed = run.
      $BENCH --master "$MASTER" --function sleep --args '{duration_s}' \
        --trace data/azure2019-10fn-day --time_scale 2.35 --duration 60s --seed "$run" \
        --label "$order" --out "$dir/$order-$run" | tee "$dir/$order-$run.txt"
      stop_cluster
    done
  done
  tools/fsched-plot "$dir/fifo-1" "$dir/aging-srtf-1" --out "$dir"
  tools/fsched-runs "$dir"/{fifo,aging-srtf} --metrics mean,p50,p90,p99,max | tee "$dir/runs.md"
}

# The floors under a call, measured in the same run as the calls they are
# compared with: a bare posix_spawn + waitpid of /bin/true, and a bare gRPC
# unary round trip over loopback (a warm call through fsched makes two).
floors() {  # out
  build/bench/spawn_bench --benchmark_filter='BM_PosixSpawn' --benchmark_min_time=2 >"$1"
  build/bench/rpc_floor_bench --benchmark_filter='payload:16/' --benchmark_min_time=2 >>"$1"
}

# Seed 002's modes in real containers, through the master: a light
# function (sha256 of 1 KiB) and a heavy one (a shell loop), each cold (a
# container per call), pre-warmed (created ahead, two kept) and warm (one
# container reused); the light warm one also at 100 req/s open loop, where
# the platform's overhead is judged. One worker with four slots. The engine
# is runc (the root filesystem a directory) or containerd (a private daemon,
# the same root filesystem imported as an image).
containers() {  # runc | containerd
  local engine=$1 dir=$OUT/containers
  [ "$engine" = runc ] || dir=$OUT/containers-$engine
  rm -rf "$dir"
  mkdir -p "$dir"
  make_busybox_rootfs "$dir/rootfs"
  local root=(--rootfs "$(realpath "$dir/rootfs")")
  if [ "$engine" = containerd ]; then
    start_containerd "$dir/containerd"
    import_rootfs_image "$dir/rootfs" fsched.local/busybox:eval
    root=(--image fsched.local/busybox:eval)
    WORKER_FLAGS=(--containerd on --containerd_address "$CONTAINERD_ADDRESS")
  fi
  local payload
  payload=$(head -c 1024 /dev/zero | tr '\0' x)
  local light=(-- sha256sum)
  local heavy=(-- sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done')
  local fn run
  # Each run a fresh cluster (and fresh containers); the runs' order within
  # a run is the same, so a drift of the machine shows as spread.
  for run in $(seq 1 "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    start_cluster "$dir/cluster-$run" 1 4
    for fn in light heavy; do
      local -n cmd=$fn
      $CTL register "$fn-cold" "${root[@]}" --keep_alive 0 "${cmd[@]}" >/dev/null
      $CTL register "$fn-prewarmed" "${root[@]}" --keep_alive 0 --prewarmed 2 "${cmd[@]}" >/dev/null
      $CTL register "$fn-warm" "${root[@]}" "${cmd[@]}" >/dev/null
    done
    sleep 2  # the pre-warmed containers are created
    for fn in light heavy; do
      $BENCH --master "$MASTER" --function "$fn-cold" --payload "$payload" --concurrency 1 \
        --requests 100 --label "$fn-cold" --out "$dir/$fn-cold-$run" | tee "$dir/$fn-cold-$run.txt"
      $BENCH --master "$MASTER" --function "$fn-prewarmed" --payload "$payload" --rates 4 \
        --duration 25s --seed "$run" --label "$fn-prewarmed" --out "$dir/$fn-prewarmed-$run" |
        tee "$dir/$fn-prewarmed-$run.txt"
      $BENCH --master "$MASTER" --function "$fn-warm" --payload "$payload" --concurrency 1 \
        --requests 200 --warmup 1s --label "$fn-warm" --out "$dir/$fn-warm-$run" |
        tee "$dir/$fn-warm-$run.txt"
    done
    $BENCH --master "$MASTER" --function light-warm --payload "$payload" --rates 100 \
      --duration 20s --seed "$run" --label light-warm-100rps --out "$dir/light-warm-100rps-$run" |
      tee "$dir/light-warm-100rps-$run.txt"
    stop_cluster
  done
  WORKER_FLAGS=()
  stop_containerd
  tools/fsched-plot "$dir/light-cold-1" "$dir/light-prewarmed-1" "$dir/light-warm-1" \
    "$dir/heavy-cold-1" "$dir/heavy-prewarmed-1" "$dir/heavy-warm-1" --out "$dir"
  tools/fsched-runs "$dir"/{light-cold,light-prewarmed,light-warm,heavy-cold,heavy-prewarmed} \
    "$dir"/{heavy-warm,light-warm-100rps} --metrics p50,p99,cold_start,execution,overhead_p50 |
    tee "$dir/runs.md"
}

# Seed 004 (ALPS): eight CPU-bound container functions at once on two cores,
# half short (a 20,000-step shell loop, about 30 ms alone) and half long (ten
# times that), with the worker's shortest-remaining-first CPU weights and its
# learned EEVDF slices each off and on: "off" is the kernel's own fair share.
# The master learns both durations during the warm-up; its predictions drive
# the weights, the worker's own measurements the slices. Each setting runs
# RUNS times (3), interleaved, so a drift of the machine hits all of them.
cpu_priority() {
  local dir=$OUT/cpu-priority
  rm -rf "$dir"
  mkdir -p "$dir"
  make_busybox_rootfs "$dir/rootfs"
  local rootfs
  rootfs=$(realpath "$dir/rootfs")
  local run mode weights slices
  for run in $(seq 1 "${RUNS:-3}"); do
    for mode in off weights slices both; do
      weights=off slices=off
      case $mode in weights) weights=on ;; slices) slices=on ;; both) weights=on slices=on ;; esac
      WORKER_FLAGS=(--cpu_priority "$weights" --cpu_slices "$slices")
      start_cluster "$dir/$mode-$run/cluster" 1 8
      $CTL register short --rootfs "$rootfs" -- \
        sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' >/dev/null
      $CTL register long --rootfs "$rootfs" -- \
        sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done' >/dev/null
      $BENCH --master "$MASTER" --function short,long --concurrency 8 --stage_duration 45s \
        --warmup 15s --label "$mode" --out "$dir/$mode-$run" | tee "$dir/$mode-$run.txt"
      stop_cluster
    done
  done
  # The same with process functions (per-call cgroups, the worker being root):
  # the weights there, no container.
  for run in $(seq 1 "${RUNS:-3}"); do
    for mode in off weights; do
      weights=off
      [ $mode = weights ] && weights=on
      WORKER_FLAGS=(--cpu_priority "$weights" --cpu_slices off)
      start_cluster "$dir/process-$mode-$run/cluster" 1 8
      $CTL register short -- sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' >/dev/null
      $CTL register long -- sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done' >/dev/null
      $BENCH --master "$MASTER" --function short,long --concurrency 8 --stage_duration 45s \
        --warmup 15s --label "process-$mode" --out "$dir/process-$mode-$run" |
        tee "$dir/process-$mode-$run.txt"
      stop_cluster
    done
  done
  WORKER_FLAGS=()
  tools/fsched-plot "$dir"/off-1 "$dir"/weights-1 "$dir"/slices-1 "$dir"/both-1 --out "$dir"
  tools/fsched-runs "$dir"/{off,weights,slices,both,process-off,process-weights} \
    --metrics mean,p95,p99,throughput | tee "$dir/runs.md"
}

# A master and 2 workers x 2 slots (warm-first) serving a persistent Python echo
# handler, primed: 4 instances made warm by 3 s of unrecorded calls, so no
# run meets a fresh cluster. The handler's code goes in DIR/code.
start_echo_cluster() {  # dir cluster-dir [master config]
  mkdir -p "$1/code"
  printf 'def handle(payload):\n    return payload\n' >"$1/code/echo.py"
  start_cluster "$2" 2 2 "${3:-}"
  $CTL register echo --runtime python --code "$(realpath "$1/code")" --handler echo:handle \
    >/dev/null
  $CTL policy --placement warm-first >/dev/null
  $BENCH --master "$MASTER" --function echo --payload prime --concurrency 4 \
    --stage_duration 3s >/dev/null
}

# The HTTP entry's cost (docs/http.md): the same warm calls of a persistent
# Python echo handler through the master over gRPC and over HTTP
# (POST /function/echo), side by side on one cluster (2 workers x 2 slots,
# warm-first): 1 user, 8 users, and 1,000 req/s open loop. The added p50 is
# taken run by run (fsched-runs --paired). Each cluster is first primed (4
# instances made warm, 3 s unrecorded), and the protocols take turns going
# first, so neither always meets the fresh cluster.
gateway() {
  local dir=$OUT/gateway run protocol
  rm -rf "$dir"
  mkdir -p "$dir"
  for run in $(seq 1 "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    start_echo_cluster "$dir" "$dir/cluster-$run"
    local order=(grpc http)
    [ $((run % 2)) = 1 ] || order=(http grpc)
    for protocol in "${order[@]}"; do
      local via=(--protocol grpc --master "$MASTER")
      [ "$protocol" = grpc ] || via=(--protocol http --entries "${HTTP#http://}")
      $BENCH "${via[@]}" --function echo --payload 'request {i}' --concurrency 1 --requests 3000 \
        --warmup 2s --label "$protocol-1user" --out "$dir/$protocol-1user-$run" |
        tee "$dir/$protocol-1user-$run.txt"
      $BENCH "${via[@]}" --function echo --payload 'request {i}' --concurrency 8 \
        --requests 20000 --warmup 1s --label "$protocol-8users" --out "$dir/$protocol-8users-$run" |
        tee "$dir/$protocol-8users-$run.txt"
      $BENCH "${via[@]}" --function echo --payload 'request {i}' --rates 1000 --duration 10s \
        --seed "$run" --label "$protocol-1000rps" --out "$dir/$protocol-1000rps-$run" |
        tee "$dir/$protocol-1000rps-$run.txt"
    done
    stop_cluster
  done
  local shape
  for shape in 1user 8users 1000rps; do
    tools/fsched-runs "$dir/grpc-$shape" "$dir/http-$shape" --paired \
      --metrics p50,p99,throughput | tee -a "$dir/runs.md"
  done
}

# Memory under a steady load of large outputs (issue 19): one function that
# writes 1 MiB, SOAK_RATE calls/s (20) open loop for SOAK_MINUTES (10), the
# master's results budget SOAK_BUDGET (64MiB); the resident memory of the
# master and the worker sampled every 15 s into rss.csv and drawn in rss.png.
soak() {
  local dir=$OUT/soak
  rm -rf "$dir"
  mkdir -p "$dir"
  local budget=${SOAK_BUDGET:-64MiB} minutes=${SOAK_MINUTES:-10} rate=${SOAK_RATE:-20}
  start_cluster "$dir/cluster" 1 4 "scheduler: {retained_result_bytes: $budget}"
  $CTL register mib -- head -c 1048576 /dev/zero >/dev/null
  local master_pid=${FSCHED_PIDS[0]} worker_pid=${FSCHED_PIDS[1]}
  rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo; }
  # The master's state directory too: results are journaled there (durable invocations).
  echo "elapsed_s,master_rss_kib,worker_rss_kib,state_kib" >"$dir/rss.csv"
  (
    start=$(date +%s)
    while kill -0 "$master_pid" 2>/dev/null; do
      echo "$(($(date +%s) - start)),$(rss "$master_pid"),$(rss "$worker_pid"),$(du -sk "$dir/cluster/state" | cut -f1)" >>"$dir/rss.csv"
      sleep 15
    done
  ) &
  local sampler=$!
  $BENCH --master "$MASTER" --function mib --rates "$rate" --duration "${minutes}m" --seed 1 \
    --call_timeout 60s --label soak --out "$dir/run" | tee "$dir/run.txt" || true
  sleep 31  # two samples after the load
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  stop_cluster
  /usr/bin/python3 - "$dir" "$budget" <<'PY'  # Debian's, with matplotlib
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
d, budget = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(open(f"{d}/rss.csv")) if r["master_rss_kib"]]
t = [int(r["elapsed_s"]) / 60 for r in rows]
for who, column, label in (("master", "master_rss_kib", "master RSS"),
                           ("worker", "worker_rss_kib", "worker RSS"),
                           ("state", "state_kib", "master state on disk")):
    mib = [int(r[column]) / 1024 for r in rows if r.get(column)]
    if not mib:
        continue
    plt.plot(t[:len(mib)], mib, marker=".", label=label)
    print(f"{label}: first {mib[0]:.0f} MiB, max {max(mib):.0f} MiB, last {mib[-1]:.0f} MiB")
plt.xlabel("minutes")
plt.ylabel("MiB")
plt.title(f"1 MiB outputs, results budget {budget}")
plt.legend()
plt.grid(alpha=0.3)
plt.savefig(f"{d}/rss.png", dpi=100)
PY
}

# What recording every accepted invocation costs (scheduler.durable_invocations,
# docs/performance.md): warm calls of a persistent Python echo handler on a
# master and 2 workers x 2 slots, 1 user and 8 users, with the journal on and
# off; each run a fresh cluster, the two settings taking turns going first.
durability() {
  local dir=$OUT/durability run durable
  rm -rf "$dir"
  mkdir -p "$dir"
  for run in $(seq 1 "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    local order=(on off)
    [ $((run % 2)) = 1 ] || order=(off on)
    for durable in "${order[@]}"; do
      local flag=true
      [ "$durable" = on ] || flag=false
      start_echo_cluster "$dir" "$dir/cluster-$durable-$run" \
        "scheduler: {durable_invocations: $flag}"
      $BENCH --master "$MASTER" --function echo --payload 'request {i}' --concurrency 1 \
        --requests 3000 --warmup 2s --label "$durable-1user" --out "$dir/$durable-1user-$run" |
        tee "$dir/$durable-1user-$run.txt"
      $BENCH --master "$MASTER" --function echo --payload 'request {i}' --concurrency 8 \
        --requests 20000 --warmup 1s --label "$durable-8users" --out "$dir/$durable-8users-$run" |
        tee "$dir/$durable-8users-$run.txt"
      stop_cluster
    done
  done
  local shape
  for shape in 1user 8users; do
    tools/fsched-runs "$dir/off-$shape" "$dir/on-$shape" --paired --metrics p50,p99,throughput |
      tee -a "$dir/runs.md"
  done
}

# Master recovery (issue 19): a master with 2 workers x 3 slots and 5 calls of
# a 2 s function accepted, all pinned to worker-1 (3 running, 2 queued), so
# worker-2 stays free for new calls; the master killed with SIGKILL and
# started again at once on the same state and address (restart_master). From
# the kill: the master serving again, both workers ready, the first new call
# answered, every accepted call answered. The floor in the same run: a fresh
# master's start (exec to serving) on an empty state directory.
recovery() {
  local dir=$OUT/recovery run
  rm -rf "$dir"
  mkdir -p "$dir"
  ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
  for run in $(seq 1 "${RUNS:-3}"); do
    local c=$dir/cluster-$run t0 fresh pid
    t0=$(date +%s%N)
    build/master/fsched-master --listen 127.0.0.1:0 --port_file "$dir/fresh-$run.port" \
      --state_dir "$dir/fresh-$run" --join_token "$(_new_token)" >"$dir/fresh-$run.log" 2>&1 &
    pid=$!
    _wait_port "$dir/fresh-$run.port" "$pid" "$dir"
    fresh=$(ms "$t0")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    start_cluster "$c" 2 3
    $CTL register nap -- sh -c 'sleep 2; echo slept' >/dev/null
    $CTL register echo -- cat >/dev/null
    local ids=() i
    for i in $(seq 1 5); do ids+=("$($CTL submit nap --worker worker-1)"); done
    sleep 0.3
    t0=$(date +%s%N)
    restart_master "$c"
    local serving ready first all
    serving=$(ms "$t0")
    until [ "$(_ready_count "$MASTER")" = 2 ]; do sleep 0.01; done
    ready=$(ms "$t0")
    until $CTL invoke echo --payload up >/dev/null 2>&1; do sleep 0.01; done
    first=$(ms "$t0")
    local answered=0
    for i in "${ids[@]}"; do
      if $CTL wait "$i" --timeout 60s >/dev/null; then answered=$((answered + 1)); fi
    done
    all=$(ms "$t0")
    printf 'run %d: kill -> serving %d ms, workers ready %d ms, first call %d ms, %d/5 accepted answered %d ms (floor: a fresh master serves %d ms after exec)\n' \
      "$run" "$serving" "$ready" "$first" "$answered" "$all" "$fresh" | tee -a "$dir/recovery.txt"
    $CTL recovery | tee -a "$dir/recovery.txt"
    stop_cluster
  done
}

# Seed 003 (Fsched) in fsched-sim: four cache-sensitive synthetic functions,
# no partitions against an equal split against the LLC predictor's
# partitions, with ways plentiful (4 slots) and scarce (8 slots) per worker.
cache() {
  local dir=$OUT/cache slots
  rm -rf "$dir"
  mkdir -p "$dir"
  cmake --build build -j "$(nproc)" --target fsched-sim >/dev/null
  for slots in 4 8; do
    build/tools/fsched-sim/fsched-sim --cache_mix $((25 * slots)),50000 --workers 10 \
      --slots "$slots" --orders aging-srtf --placement cache-fit --utilization 0.5,0.7,0.8 \
      --zero_cold_start | tee "$dir/slots-$slots.txt"
  done
}

# Warm-call throughput and where the CPU goes (issue 17): the primed echo
# cluster (2 workers x 2 slots, warm-first, durable invocations off to see the
# platform's own path), closed loop, 30,000 calls per stage: through the master
# (Controller.Invoke, centralized) at 8, 16 and 32 users, then entering at the
# two workers (Worker.Invoke, decentralized: a worker runs what it has room for
# and hands the rest to its peer, the master out of the path) at 4, 8, 16 and
# 32. Each worker lets 8 calls per slot wait (worker.waiting_per_slot; 4 by
# default would turn some of 32 users' calls away: 2 x 2 x (1 + 4) = 20), or
# more when THROUGHPUT_STAGES brings more users to the workers.
# CPU seconds of the master, the workers, the instances (/proc/<pid>/stat) and
# the driver (/usr/bin/time) per stage, divided per call. Floors in the same run.
# WORKER_CPUS="0 1" runs each worker (and its instances) on its own CPU
# (worker.cpus); the table's "workers on" column says which way it ran.
# THROUGHPUT_STAGES="workers:16 workers:32" runs other stages (entry:users).
# The workers run under SCHED_BATCH (worker.cpu_policy: batch, for short warm
# calls); WORKER_CPU_POLICY=normal runs them under the default, SCHED_OTHER.
throughput() {
  local dir=$OUT/throughput run users stages stage
  read -r -a stages <<<"${THROUGHPUT_STAGES:-master:8 master:16 master:32 workers:4 workers:8 workers:16 workers:32}"
  for stage in "${stages[@]}"; do
    if ! [[ $stage =~ ^(master|workers):[1-9][0-9]*$ ]]; then
      echo "THROUGHPUT_STAGES: '$stage' is not master:USERS or workers:USERS" >&2
      exit 2
    fi
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  # Room for every user's call at the two workers (2 x 2 slots, each with
  # waiting_per_slot more): 8 (32 users) unless a stage brings more users.
  local waiting=8 needed
  for stage in "${stages[@]}"; do
    needed=$(((${stage#*:} + 3) / 4))
    if [[ $stage == workers:* ]] && ((needed > waiting)); then waiting=$needed; fi
  done
  printf 'worker: {waiting_per_slot: %d, cpu_policy: %s}\n' "$waiting" "${WORKER_CPU_POLICY:-batch}" \
    >"$dir/worker.yaml"
  local -a WORKER_FLAGS=(--config "$dir/worker.yaml")
  ticks() {  # pids... -> CPU clock ticks (utime + stime) summed
    local p sum=0
    for p in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    echo "$sum"
  }
  local hz
  hz=$(getconf CLK_TCK)
  local placement=${WORKER_CPUS:-}
  placement=${placement:+CPUs ${placement// / \/ }}
  placement="${placement:-any CPU}, ${WORKER_CPU_POLICY:-batch}"
  printf '| run | entry | workers on | users | calls/s | p50 (ms) | p99 (ms) | CPU µs per call: driver | master | workers | instances | total | failed calls |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' \
    >"$dir/table.md"
  for run in $(seq 1 "${RUNS:-3}"); do
    floors "$dir/floors-$run.txt"
    start_echo_cluster "$dir" "$dir/cluster-$run" "scheduler: {durable_invocations: false}"
    local master=${FSCHED_PIDS[0]} workers=("${FSCHED_PIDS[@]:1:2}") instances
    read -r -a instances <<<"$(pgrep -f fsched_runtime.py | tr '\n' ' ')"
    local at_workers
    at_workers=127.0.0.1:$(cat "$dir/cluster-$run/worker-1.port"),127.0.0.1:$(cat "$dir/cluster-$run/worker-2.port")
    local entry entry_flags
    for stage in "${stages[@]}"; do
      entry=${stage%%:*} users=${stage##*:}
      entry_flags=(--master "$MASTER")
      [ "$entry" = workers ] &&
        entry_flags+=(--entry worker --entries "$at_workers" --architecture decentralized)
      local out=$dir/run-$run-$entry-users-$users m0 w0 i0 m1 w1 i1
      m0=$(ticks "$master") w0=$(ticks "${workers[@]}") i0=$(ticks "${instances[@]}")
      /usr/bin/time -f '%U %S' -o "$out.driver-cpu" $BENCH "${entry_flags[@]}" --function echo \
        --payload 'request {i}' --concurrency "$users" --requests 30000 --out "$out" >/dev/null ||
        true # calls that failed are a column of the table, not a reason to stop
      m1=$(ticks "$master") w1=$(ticks "${workers[@]}") i1=$(ticks "${instances[@]}")
      python3 - "$out" "$run" "$entry" "$placement" "$users" "$hz" $((m1 - m0)) \
      $((w1 - w0)) $((i1 - i0)) \
        >>"$dir/table.md" <<'PY'
import json, sys
out, run, entry, placement, users, hz, master, workers, instances = sys.argv[1:]
hz = float(hz)
level = json.load(open(out + "/summary.json"))["levels"][0]
calls = level["succeeded"]
# time's last line ("user system"), after its word on a non-zero exit, if any.
driver = sum(float(x) for x in open(out + ".driver-cpu").read().split("\n")[-2].split())
per = lambda seconds: 1e6 * seconds / calls
parts = [per(driver), per(int(master) / hz), per(int(workers) / hz), per(int(instances) / hz)]
lat = level["latency_s"]
print(f"| {run} | {entry} | {placement} | {users} | {level['throughput_rps']:,.0f} | {1e3 * lat['p50']:.2f} | "
      f"{1e3 * lat['p99']:.2f} | " + " | ".join(f"{p:.0f}" for p in parts) + f" | {sum(parts):.0f} | "
      f"{level['rpc_failed'] + level['function_failed']} |")
PY
    done
    stop_cluster
  done
  cat "$dir/table.md"
}

mkdir -p "$OUT"
for e in "${experiments[@]}"; do
  case "$e" in
    overhead | seed000 | seed001 | seed002 | replay) echo "== $e"; "$e" ;;
    seed002-runtimes) echo "== $e"; seed002_runtimes ;;
    containers) echo "== $e"; containers runc ;;
    containers-containerd) echo "== $e"; containers containerd ;;
    cpu-priority) echo "== $e"; cpu_priority ;;
    gateway) echo "== $e"; gateway ;;
    soak) echo "== $e"; soak ;;
    durability) echo "== $e"; durability ;;
    recovery) echo "== $e"; recovery ;;
    throughput) echo "== $e"; throughput ;;
    cache) echo "== $e"; cache ;;
    *)
      echo "evaluate: unknown experiment '$e'" \
        "(overhead seed000 seed001 seed002 seed002-runtimes replay containers containers-containerd" \
        "cpu-priority gateway cache soak durability recovery throughput)" >&2
      exit 2
      ;;
  esac
done
