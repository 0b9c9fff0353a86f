#include "tools/fschedctl/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, config, "",
          "YAML file of flag values (e.g. master: 10.0.0.1:50051); the command line overrides it");
ABSL_FLAG(std::string, master, "127.0.0.1:50051", "master address host:port");
ABSL_FLAG(std::string, role, "invoker", "token create: invoker | developer | admin");
ABSL_FLAG(double, rate, 0,
          "token create: requests per second the holder may make on each node (0 = no limit)");
ABSL_FLAG(int, burst, 0, "token create: requests at once after a quiet spell (0 = one second's)");
ABSL_FLAG(int, max_concurrency, 0,
          "register: invocations queued or running at most; more are refused (0 = no limit)");
ABSL_FLAG(bool, json, false, "print responses as JSON");
ABSL_FLAG(std::string, rpc_timeout, "",
          "deadline for each call (default 30s; invoke: function timeout + 60s)");
ABSL_FLAG(std::string, payload, "", "invoke/submit: payload given to the function on stdin");
ABSL_FLAG(std::string, payload_file, "",
          "invoke/submit: read the payload from this file ('-' = stdin)");
ABSL_FLAG(std::string, timeout, "",
          "register: function timeout; invoke/submit: per-call timeout; wait: how long to wait");
ABSL_FLAG(std::vector<std::string>, env, {}, "register: K=V environment entries (comma-separated)");
ABSL_FLAG(std::string, workdir, "", "register: working directory of the function");
ABSL_FLAG(std::string, description, "", "register: free-text description");
ABSL_FLAG(bool, replace, false, "register: replace an existing function");
ABSL_FLAG(bool, force, false, "remove-worker: re-queue what the worker still runs");
ABSL_FLAG(std::string, queue_order, "", "policy: queue order to switch to");
ABSL_FLAG(std::string, placement, "", "policy: placement policy to switch to");
ABSL_FLAG(std::string, output_limit, "",
          "register: cap on captured stdout/stderr per stream (e.g. 64KiB)");
ABSL_FLAG(std::string, rootfs, "",
          "register: run in a runc container with this root filesystem: a directory on every "
          "worker, or the sha256:... digest of an archive from upload-rootfs; implies "
          "--runtime runc");
ABSL_FLAG(std::string, image, "",
          "register: run in a containerd container from this image (already in the workers' "
          "containerd namespace, worker.containerd_namespace); implies --runtime containerd");
ABSL_FLAG(std::string, runtime, "",
          "register: process | runc | containerd (default: process, runc with --rootfs, "
          "containerd with --image), or a language runtime shipped with fsched: python | node "
          "(a persistent process function hosting --handler from --code)");
ABSL_FLAG(std::string, handler, "",
          "register: the handler a language runtime hosts: python module:function, node "
          "file.js:export");
ABSL_FLAG(std::string, code, "",
          "register: the function's code: a directory on every worker, a .tar archive here "
          "(uploaded), or the sha256:... digest of an uploaded archive; with --rootfs or "
          "--image, the code's directory inside the container (e.g. /app)");
ABSL_FLAG(std::string, lifetime, "",
          "register: exec (a process per call) | persistent (a process per instance speaking "
          "the instance protocol; docs/runtimes.md). Language runtimes are persistent");
ABSL_FLAG(std::string, init_timeout, "",
          "register: how long a persistent instance may take to initialise (default 30s)");
ABSL_FLAG(int, instance_concurrency, 0,
          "register: calls one persistent instance serves at once (python: a thread per call; "
          "node: async handlers overlap); 0 or 1 = one at a time");
ABSL_FLAG(int, recycle_after_calls, 0,
          "register: replace a persistent instance after this many calls (0 = never)");
ABSL_FLAG(std::string, recycle_above_memory, "",
          "register: replace a persistent instance once its resident memory passes this (e.g. "
          "256MiB)");
ABSL_FLAG(std::string, memory, "", "register: memory limit of the container (e.g. 128MiB)");
ABSL_FLAG(double, cpus, 0, "register: CPU quota of the container in cores (e.g. 0.5)");
ABSL_FLAG(std::string, keep_alive, "",
          "register: how long an idle warm container is kept (0 = never; default: the worker's)");
ABSL_FLAG(int, max_instances, 0, "register: cap of idle warm containers per worker (0 = none)");
ABSL_FLAG(int, prewarmed, 0, "register: containers kept pre-created on every runc worker");
ABSL_FLAG(bool, network, false, "register: give the container the host's network");
ABSL_FLAG(
    int, cache_ways, 0,
    "register: LLC ways for every call (0 = the LLC predictor's); invoke/submit: for this call");
ABSL_FLAG(double, size, 0, "invoke/submit/task: the input size (for the predictors)");
ABSL_FLAG(std::string, soft_d2f, "", "arch thresholds: soft decentralized->federated tail ratio");
ABSL_FLAG(std::string, hard_d2f, "", "arch thresholds: hard decentralized->federated tail ratio");
ABSL_FLAG(std::string, soft_f2c, "", "arch thresholds: soft federated->centralized tail ratio");
ABSL_FLAG(std::string, hard_f2c, "", "arch thresholds: hard federated->centralized tail ratio");
ABSL_FLAG(std::string, min_samples, "",
          "arch thresholds: samples per window before a ratio counts");
ABSL_FLAG(std::string, sample_interval, "", "arch thresholds: seconds between ratio updates");
ABSL_FLAG(std::string, offload_load_threshold, "",
          "arch thresholds: busy fraction of slots before offloading");
ABSL_FLAG(int, max_ways, 0, "task benchmark: benchmark at 1..N cache ways (0 = min(10, usable))");
ABSL_FLAG(std::string, worker, "",
          "invoke/submit/task benchmark: run only on this worker (default: the master chooses)");
