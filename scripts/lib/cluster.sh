# Sourced by scripts: starts a local fsched cluster (one master, N workers) on
# loopback ports chosen by the kernel, and stops it when the script exits.
#   start_cluster DIR WORKERS SLOTS [MASTER_CONFIG_YAML]
# WORKER_FLAGS (an array, optional) adds flags to every worker.
# sets MASTER (host:port) and CTL (an fschedctl command line). Logs and state
# go under DIR. Needs the binaries in build/.

FSCHED_PIDS=()
[ -n "${WORKER_FLAGS+x}" ] || WORKER_FLAGS=()
stop_cluster() {
  for p in "${FSCHED_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Only ours: a script may run other daemons (containerd) in the background.
  for p in "${FSCHED_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  FSCHED_PIDS=()
}
trap stop_cluster EXIT

_wait_port() {  # file pid dir
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "cluster: process $2 exited; see $3/*.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "cluster: no port in $1" >&2
  exit 1
}

start_cluster() {
  local dir=$1 workers=$2 slots=$3 config=${4:-}
  mkdir -p "$dir"
  local token=local-$RANDOM$RANDOM
  local config_flag=()
  if [ -n "$config" ]; then
    printf '%s\n' "$config" >"$dir/master.yaml"
    config_flag=(--config "$dir/master.yaml")
  fi
  build/master/fsched-master "${config_flag[@]}" --listen 127.0.0.1:0 --port_file "$dir/master.port" \
    --state_dir "$dir/state" --join_token "$token" >"$dir/master.log" 2>&1 &
  FSCHED_PIDS+=($!)
  _wait_port "$dir/master.port" $! "$dir"
  MASTER=127.0.0.1:$(cat "$dir/master.port")
  local w
  for w in $(seq 1 "$workers"); do
    build/worker/fsched-worker --master "$MASTER" --join_token "$token" --node_id "worker-$w" \
      --slots "$slots" --port_file "$dir/worker-$w.port" --state_dir "$dir/state" "${WORKER_FLAGS[@]}" >"$dir/worker-$w.log" 2>&1 &
    FSCHED_PIDS+=($!)
    _wait_port "$dir/worker-$w.port" $! "$dir"
  done
  CTL="build/tools/fschedctl --master $MASTER"
  for _ in $(seq 1 100); do
    [ "$($CTL --json workers | grep -c WORKER_STATE_READY)" = "$workers" ] && return 0
    sleep 0.05
  done
  echo "cluster: workers did not become ready; see $dir/*.log" >&2
  exit 1
}
