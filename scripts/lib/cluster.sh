# Sourced by scripts: starts a local fsched cluster (one master, N workers) on
# loopback ports chosen by the kernel, and stops it when the script exits.
#   start_cluster DIR WORKERS SLOTS [MASTER_CONFIG_YAML]
# WORKER_FLAGS (an array, optional) adds flags to every worker; WORKER_CPUS
# (optional, e.g. "0 1") puts start_cluster's worker N on the Nth CPU list
# (worker.cpus; the lists are reused in turn when there are more workers).
# sets MASTER (host:port), HTTP (the master's HTTP entry, http://host:port)
# and CTL (an fschedctl command line), and exports
# FSCHED_TOKEN_FILE (the master's bootstrap admin token), which fschedctl and
# fsched-bench read. Logs and state go under DIR. Needs the binaries in build/
# (start_cluster takes the daemons from FSCHED_BUILD instead, when set: another
# build tree, for comparing two builds).
#   start_federation DIR SLOTS [CONFIG_YAML]
# seed 001's topology: a master, zones a and b each with a zone master
# and two workers (a1 a2 b1 b2), every node reading CONFIG_YAML (e.g. its
# network_emulation block). Sets MASTER (the master above the zones), CTL, ZONE_MASTERS and
# WORKER_ADDRESSES (comma-separated host:port lists).
#   restart_master DIR
# kills start_cluster's master with SIGKILL and starts it again at once on the
# same state directory, token and address (as Kubernetes restarts a container
# behind its Service), waiting until it serves.

FSCHED_PIDS=()
[ -n "${WORKER_FLAGS+x}" ] || WORKER_FLAGS=()
stop_cluster() {
  for p in "${FSCHED_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Only ours: a script may run other daemons (containerd) in the background.
  for p in "${FSCHED_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  FSCHED_PIDS=()
}
trap stop_cluster EXIT

# The cluster's credential: 256 random bits, never reused across runs.
_new_token() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

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
  # Port files of an earlier run in the same directory would name dead ports.
  rm -f "$dir"/*.port "$dir"/*.metrics-port "$dir"/*.http-port
  local token
  token=$(_new_token)
  local config_flag=()
  if [ -n "$config" ]; then
    printf '%s\n' "$config" >"$dir/master.yaml"
    config_flag=(--config "$dir/master.yaml")
  fi
  MASTER_ARGS=("${config_flag[@]}" --port_file "$dir/master.port"
    --metrics_port_file "$dir/master.metrics-port" --state_dir "$dir/state" --join_token "$token"
    --http_listen 127.0.0.1:0 --http_port_file "$dir/master.http-port")
  "${FSCHED_BUILD:-build}"/master/fsched-master "${MASTER_ARGS[@]}" --listen 127.0.0.1:0 \
    >"$dir/master.log" 2>&1 &
  FSCHED_PIDS+=($!)
  _wait_port "$dir/master.port" $! "$dir"
  MASTER=127.0.0.1:$(cat "$dir/master.port")
  HTTP=http://127.0.0.1:$(cat "$dir/master.http-port")
  export FSCHED_TOKEN_FILE="$dir/state/admin.token"
  local w cpu_lists cpus
  read -r -a cpu_lists <<<"${WORKER_CPUS:-}"
  for w in $(seq 1 "$workers"); do
    cpus=()
    [ ${#cpu_lists[@]} = 0 ] || cpus=(--cpus "${cpu_lists[$(((w - 1) % ${#cpu_lists[@]}))]}")
    # Any free port, also when WORKER_FLAGS brings a config file (whose listen
    # would otherwise be 50051 for every worker).
    "${FSCHED_BUILD:-build}"/worker/fsched-worker --master "$MASTER" --join_token "$token" \
      --node_id "worker-$w" --listen 127.0.0.1:0 \
      --slots "$slots" --port_file "$dir/worker-$w.port" --metrics_port_file "$dir/worker-$w.metrics-port" \
      --state_dir "$dir/worker-state" "${cpus[@]}" "${WORKER_FLAGS[@]}" >"$dir/worker-$w.log" 2>&1 &
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

restart_master() {  # dir
  local dir=$1 port
  port=$(cat "$dir/master.port")
  kill -9 "${FSCHED_PIDS[0]}"
  wait "${FSCHED_PIDS[0]}" 2>/dev/null || true
  rm -f "$dir/master.port"
  build/master/fsched-master "${MASTER_ARGS[@]}" --listen "127.0.0.1:$port" >>"$dir/master.log" 2>&1 &
  FSCHED_PIDS[0]=$!
  _wait_port "$dir/master.port" $! "$dir"
}

# Prints the lines of a process' Prometheus metrics that match a regex.
#   scrape_metrics PORT REGEX
scrape_metrics() {
  python3 - "$1" "$2" <<'PY'
import re, sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
print("\n".join(l for l in text.splitlines() if not l.startswith("#") and re.search(sys.argv[2], l)))
PY
}

_start_node() {  # dir name port-file-stem args...
  local dir=$1 name=$2
  shift 2
  "$@" --port_file "$dir/$name.port" >"$dir/$name.log" 2>&1 &
  FSCHED_PIDS+=($!)
  _wait_port "$dir/$name.port" $! "$dir"
}

_ready_count() {  # master
  build/tools/fschedctl --master "$1" --json workers | grep -c WORKER_STATE_READY || true
}

start_federation() {
  local dir=$1 slots=$2 config=${3:-}
  mkdir -p "$dir"
  local token
  token=$(_new_token)
  printf '%s\n' "$config" >"$dir/node.yaml"
  _start_node "$dir" master build/master/fsched-master --config "$dir/node.yaml" \
    --listen 127.0.0.1:0 --state_dir "$dir/master-state" --join_token "$token" --node_id master
  MASTER=127.0.0.1:$(cat "$dir/master.port")
  export FSCHED_TOKEN_FILE="$dir/master-state/admin.token"
  CTL="build/tools/fschedctl --master $MASTER"
  ZONE_MASTERS="" WORKER_ADDRESSES=""
  local zone n
  for zone in a b; do
    _start_node "$dir" "zone-master-$zone" build/master/fsched-master --config "$dir/node.yaml" \
      --listen 127.0.0.1:0 --state_dir "$dir/zone-master-$zone-state" --join_token "$token" \
      --node_id "zone-master-$zone" --role zone-master --zone "$zone" --parent "$MASTER"
    ZONE_MASTERS+="${ZONE_MASTERS:+,}127.0.0.1:$(cat "$dir/zone-master-$zone.port")"
  done
  for zone in a b; do
    for n in 1 2; do
      _start_node "$dir" "$zone$n" build/worker/fsched-worker --config "$dir/node.yaml" \
        --listen 127.0.0.1:0 \
        --master "$MASTER" --join_token "$token" --node_id "$zone$n" --zone "$zone" \
        --slots "$slots" --state_dir "$dir/worker-state" "${WORKER_FLAGS[@]}"
      WORKER_ADDRESSES+="${WORKER_ADDRESSES:+,}127.0.0.1:$(cat "$dir/$zone$n.port")"
    done
  done
  local zm
  for _ in $(seq 1 200); do
    local ok=1
    [ "$(_ready_count "$MASTER")" = 4 ] || ok=0
    for zm in ${ZONE_MASTERS//,/ }; do [ "$(_ready_count "$zm")" = 2 ] || ok=0; done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "federation: workers did not join their masters; see $dir/*.log" >&2
  exit 1
}

# Until every zone master has mirrored the master's COUNT functions.
wait_mirrored() {  # count
  local zm
  for _ in $(seq 1 100); do
    local ok=1
    for zm in ${ZONE_MASTERS//,/ }; do
      [ "$(build/tools/fschedctl --master "$zm" --json functions | grep -c '"name"')" -ge "$1" ] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "federation: zone masters did not mirror the functions" >&2
  exit 1
}
