#include "worker/oci_spec.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

namespace fsched::worker {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value Num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}

Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

Value List(const std::vector<Value>& items) {
  Value v;
  for (const Value& item : items) *v.mutable_list_value()->add_values() = item;
  return v;
}

Value Strings(const std::vector<std::string>& items) {
  std::vector<Value> values;
  for (const std::string& s : items) values.push_back(Str(s));
  return List(values);
}

Value Obj(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value v;
  for (const auto& [key, value] : fields)
    (*v.mutable_struct_value()->mutable_fields())[key] = value;
  return v;
}

Value Mount(const char* destination, const char* type, const char* source,
            const std::vector<std::string>& options) {
  return Obj({{"destination", Str(destination)},
              {"type", Str(type)},
              {"source", Str(source)},
              {"options", Strings(options)}});
}

}  // namespace

std::vector<std::string> ContainerEnv(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> all = env;
  all.emplace("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin");
  all.emplace("HOME", "/tmp");
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::string OciConfigJson(const ContainerSpec& spec) {
  const std::vector<std::string> env_list = ContainerEnv(spec.env);
  // The few capabilities a plain program may need; nothing that reaches the host.
  const Value caps = Strings({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});

  std::vector<Value> namespaces;
  for (const char* ns : {"pid", "ipc", "uts", "mount"})
    namespaces.push_back(Obj({{"type", Str(ns)}}));
  if (!spec.network) namespaces.push_back(Obj({{"type", Str("network")}}));

  Value resources = Obj({{"devices", List({Obj({{"allow", Bool(false)}, {"access", Str("rwm")}})})},
                         {"pids", Obj({{"limit", Num(static_cast<double>(spec.pids_limit))}})}});
  auto& res = *resources.mutable_struct_value()->mutable_fields();
  if (spec.memory_bytes > 0) {
    const double limit = static_cast<double>(spec.memory_bytes);
    res["memory"] = Obj({{"limit", Num(limit)}, {"swap", Num(limit)}});
  }
  Value cpu = Obj({});
  auto& cpu_fields = *cpu.mutable_struct_value()->mutable_fields();
  if (spec.cpu_cores > 0) {
    constexpr double kPeriod = 100000;  // µs
    cpu_fields["period"] = Num(kPeriod);
    cpu_fields["quota"] = Num(std::ceil(spec.cpu_cores * kPeriod));
  }
  if (spec.cpu_shares > 0) cpu_fields["shares"] = Num(static_cast<double>(spec.cpu_shares));
  if (!cpu_fields.empty()) res["cpu"] = cpu;

  Value linux =
      Obj({{"resources", resources},
           {"namespaces", List(namespaces)},
           {"maskedPaths", Strings({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"})},
           {"readonlyPaths",
            Strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})}});
  if (!spec.cgroups_path.empty()) {
    (*linux.mutable_struct_value()->mutable_fields())["cgroupsPath"] = Str(spec.cgroups_path);
  }

  std::vector<Value> mounts = {
      Mount("/proc", "proc", "proc", {}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=65536k"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"})};
  for (const BindMount& bind : spec.binds) {
    mounts.push_back(Mount(bind.destination.c_str(), "bind", bind.source.c_str(),
                           {"bind", bind.readonly ? "ro" : "rw"}));
  }

  const Value config = Obj({
      {"ociVersion", Str("1.0.2")},
      {"process",
       Obj({{"terminal", Bool(false)},
            {"user", Obj({{"uid", Num(spec.uid)}, {"gid", Num(spec.gid)}})},
            {"args", Strings(spec.argv)},
            {"env", Strings(env_list)},
            {"cwd", Str(spec.cwd.empty() ? "/" : spec.cwd)},
            {"capabilities", Obj({{"bounding", caps}, {"effective", caps}, {"permitted", caps}})},
            {"rlimits",
             List({Obj(
                 {{"type", Str("RLIMIT_NOFILE")}, {"hard", Num(1024)}, {"soft", Num(1024)}})})},
            {"noNewPrivileges", Bool(true)}})},
      {"root", Obj({{"path", Str(spec.rootfs)}, {"readonly", Bool(spec.readonly_rootfs)}})},
      {"hostname", Str(spec.hostname)},
      {"mounts", List(mounts)},
      {"linux", linux},
  });
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(config.struct_value(), &json, options);
  return json;
}

}  // namespace fsched::worker
