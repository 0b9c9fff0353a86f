#!/usr/bin/env bash
# Two builds of fsched, taking turns on the warm path: for each round, each
# build starts the primed echo cluster of `evaluate.sh throughput` (2 workers ×
# 2 slots, a persistent Python echo handler, warm-first), drives it closed loop
# with its own fsched-bench, and prints calls/s, p50 and the CPU µs per call of
# the driver, the master, the workers and the instances. This VM's speed moves
# by 10 % between consecutive runs, so only what holds in every pair counts
# (docs/performance.md).
#   scripts/compare.sh BUILD_A BUILD_B [USERS] [CALLS] [ROUNDS]
# BUILD_* are CMake build trees (e.g. build, and one of a worktree of another
# commit). DURABLE=true journals invocations (off by default, as evaluate.sh);
# ENTRY=workers sends the calls to the two workers (Worker.Invoke,
# decentralized) instead of the master. WORKER_CPUS_A / WORKER_CPUS_B (e.g.
# "0 1") put each side's workers on their own CPUs (worker.cpus), so the same
# build can be compared with itself pinned and not.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
builds=("$1" "$2")
users=${3:-16} calls=${4:-20000} rounds=${5:-3}
for b in "${builds[@]}"; do
  for bin in master/fsched-master worker/fsched-worker tools/fsched-bench/fsched-bench; do
    [ -x "$b/$bin" ] || { echo "compare: no $b/$bin (build it first)" >&2; exit 2; }
  done
done
. scripts/lib/cluster.sh
out=results/compare
rm -rf "$out"
mkdir -p "$out/code"
printf 'def handle(payload):\n    return payload\n' >"$out/code/echo.py"
hz=$(getconf CLK_TCK)
ticks() {  # pids... -> CPU clock ticks (utime + stime) summed
  local p sum=0
  for p in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$sum"
}
for round in $(seq 1 "$rounds"); do
  for which in 0 1; do
    b=${builds[$which]}
    run=$out/$round-$((which + 1))
    cpus_of_side=WORKER_CPUS_$([ "$which" = 0 ] && echo A || echo B)
    FSCHED_BUILD=$b WORKER_CPUS=${!cpus_of_side:-} start_cluster "$run/cluster" 2 2 \
      "scheduler: {durable_invocations: ${DURABLE:-false}}"
    $CTL register echo --runtime python --code "$(realpath "$out/code")" --handler echo:handle \
      >/dev/null
    $CTL policy --placement warm-first >/dev/null
    bench=$b/tools/fsched-bench/fsched-bench
    $bench --master "$MASTER" --function echo --payload prime --concurrency 4 \
      --stage_duration 3s >/dev/null
    master=${FSCHED_PIDS[0]} workers=("${FSCHED_PIDS[@]:1:2}")
    read -r -a instances <<<"$(pgrep -f fsched_runtime.py | tr '\n' ' ')"
    m0=$(ticks "$master") w0=$(ticks "${workers[@]}") i0=$(ticks "${instances[@]}")
    entry=(--master "$MASTER")
    if [ "${ENTRY:-master}" = workers ]; then
      entry+=(--entry worker --architecture decentralized --entries
        "127.0.0.1:$(cat "$run/cluster/worker-1.port"),127.0.0.1:$(cat "$run/cluster/worker-2.port")")
    fi
    /usr/bin/time -f '%U %S' -o "$run.driver-cpu" "$bench" "${entry[@]}" --function echo \
      --payload 'request {i}' --concurrency "$users" --requests "$calls" --out "$run" >/dev/null ||
      true # calls that failed are counted in the line below, not a reason to stop
    m1=$(ticks "$master") w1=$(ticks "${workers[@]}") i1=$(ticks "${instances[@]}")
    stop_cluster
    label=$b${!cpus_of_side:+ (workers on CPUs ${!cpus_of_side})}
    python3 - "$run" "$label" "$hz" $((m1 - m0)) $((w1 - w0)) $((i1 - i0)) <<'PY'
import json, sys
run, build, hz, master, workers, instances = sys.argv[1:]
level = json.load(open(run + "/summary.json"))["levels"][0]
calls = level["succeeded"]
# time's last line ("user system"), after its word on a non-zero exit, if any.
driver = sum(float(x) for x in open(run + ".driver-cpu").read().split("\n")[-2].split())
per = lambda seconds: 1e6 * seconds / calls
parts = [per(driver)] + [per(int(t) / float(hz)) for t in (master, workers, instances)]
print(f"{build}: {level['throughput_rps']:,.0f} calls/s, p50 {1e3 * level['latency_s']['p50']:.2f} ms, "
      f"CPU us per call: driver {parts[0]:.0f} master {parts[1]:.0f} workers {parts[2]:.0f} "
      f"instances {parts[3]:.0f} total {sum(parts):.0f}"
      + (f", {level['rpc_failed'] + level['function_failed']} calls failed"
         if level['rpc_failed'] + level['function_failed'] else ""))
PY
  done
done
