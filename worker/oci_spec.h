// The OCI runtime configuration (config.json) the worker writes for each
// container: what the function may see and use. Written by fsched, never
// taken from the function's archive, so isolation does not depend on it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fsched::worker {

struct BindMount {
  std::string source;       // host path
  std::string destination;  // inside the container
  bool readonly = true;
};

struct ContainerSpec {
  std::string rootfs;  // absolute path of the root filesystem
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // PATH and HOME get defaults if absent
  std::string cwd = "/";
  std::string hostname = "fsched";
  bool network = false;          // false: an empty network namespace (loopback only, down)
  bool readonly_rootfs = true;   // /tmp is always a writable tmpfs
  uint64_t memory_bytes = 0;     // 0 = no limit; swap is limited to the same value
  double cpu_cores = 0;          // 0 = no quota
  uint64_t cpu_shares = 0;       // 0 = the default weight
  std::string cgroups_path;      // e.g. "/fsched/inv-123"; empty = runc's choice
  uint32_t uid = 0, gid = 0;     // inside the container's own PID, mount, IPC and UTS namespaces
  uint64_t pids_limit = 256;     // no fork bombs
  std::vector<BindMount> binds;  // after the standard mounts, so they may land in /dev or /tmp
};

/// The environment a container process gets: `env` with PATH and HOME
/// defaulted, as "KEY=value".
std::vector<std::string> ContainerEnv(const std::map<std::string, std::string>& env);

/// config.json text for `spec` (OCI runtime spec 1.0).
std::string OciConfigJson(const ContainerSpec& spec);

}  // namespace fsched::worker
