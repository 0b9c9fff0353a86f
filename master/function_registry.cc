#include "master/function_registry.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_paths.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace fsched::master {
namespace {

constexpr size_t kRecentDurations = 1000;

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '-' || c == '_' || c == '.'; });
}

absl::Status CheckLength(const std::string& field, const std::string& value, size_t max) {
  if (value.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value.size(), " bytes; the limit is ", max));
  }
  return absl::OkStatus();
}

// Where the path leads on each worker is checked there (symlinks resolved,
// worker.rootfs_dirs); here, its normal form.
absl::Status ValidateRootfsPath(const std::string& path) {
  if (absl::Status s = CheckRootfsDirectory(path); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.rootfs_path ", s.message(),
                     "; upload an archive (fschedctl upload-rootfs) or use a directory made for "
                     "it, e.g. /srv/rootfs/NAME"));
  }
  return absl::OkStatus();
}

// Persistent instances and the language runtimes that host handlers.
absl::Status ValidateLifetime(const v1::FunctionSpec& spec, const FunctionLimits& limits) {
  if (!v1::Lifetime_IsValid(spec.lifetime())) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.lifetime ", static_cast<int>(spec.lifetime()), " is unknown"));
  }
  RETURN_IF_ERROR(CheckLength("spec.handler", spec.handler(), limits.max_field_bytes));
  if (spec.language().empty()) {
    if (!spec.handler().empty()) {
      return absl::InvalidArgumentError(
          "spec.handler needs spec.language (python or node); a command of your own reads "
          "its handler from its arguments");
    }
    return absl::OkStatus();
  }
  if (spec.language() != "python" && spec.language() != "node") {
    return absl::InvalidArgumentError(absl::StrCat("spec.language '", spec.language().substr(0, 40),
                                                   "' is unknown: python or node"));
  }
  if (spec.lifetime() == v1::LIFETIME_EXEC) {
    return absl::InvalidArgumentError(absl::StrCat("spec.language ", spec.language(),
                                                   " hosts its handler in persistent instances; "
                                                   "spec.lifetime EXEC cannot go with it"));
  }
  if (spec.command_size() > 0) {
    return absl::InvalidArgumentError(absl::StrCat("spec.command must be empty with spec.language ",
                                                   spec.language(),
                                                   ": the runtime is the command"));
  }
  const size_t colon = spec.handler().rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.handler().size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.handler '", spec.handler().substr(0, 80), "' must be ",
                     spec.language() == "python" ? "module:function (e.g. main:handle)"
                                                 : "file.js:export (e.g. index.js:handle)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateFunctionSpec(const v1::FunctionSpec& spec, const FunctionLimits& limits) {
  if (!ValidName(spec.name())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.name '", spec.name().substr(0, 80),
        "' is invalid: use 1-63 characters of a-z, 0-9, '-', '_', '.', starting with a letter "
        "or digit"));
  }
  RETURN_IF_ERROR(ValidateLifetime(spec, limits));
  if (spec.command_size() == 0 && spec.runtime() != v1::RUNTIME_KIND_CONTAINERD &&
      spec.language().empty()) {
    return absl::InvalidArgumentError("spec.command is empty: give the argv to run");
  }
  if (static_cast<size_t>(spec.command_size()) > limits.max_command_args) {
    return absl::InvalidArgumentError(absl::StrCat("spec.command has ", spec.command_size(),
                                                   " arguments; the limit is ",
                                                   limits.max_command_args));
  }
  for (int i = 0; i < spec.command_size(); ++i) {
    RETURN_IF_ERROR(CheckLength(absl::StrCat("spec.command[", i, "]"), spec.command(i),
                                limits.max_field_bytes));
  }
  if (spec.command_size() > 0 && spec.command(0).empty()) {
    return absl::InvalidArgumentError("spec.command[0] is empty: name the program to run");
  }
  for (const auto& [key, value] : spec.env()) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.env key '", key, "' is invalid: non-empty, without '='"));
    }
    RETURN_IF_ERROR(
        CheckLength(absl::StrCat("spec.env[", key, "]"), value, limits.max_field_bytes));
  }
  RETURN_IF_ERROR(CheckLength("spec.working_dir", spec.working_dir(), limits.max_field_bytes));
  RETURN_IF_ERROR(CheckLength("spec.description", spec.description(), limits.max_field_bytes));
  const v1::ResourceLimits& lim = spec.limits();
  if (lim.cpu_cores() < 0) return absl::InvalidArgumentError("spec.limits.cpu_cores is negative");
  ASSIGN_OR_RETURN(const absl::Duration timeout,
                   CheckedFromProto(lim.timeout(), "spec.limits.timeout"));
  if (timeout > limits.max_timeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.limits.timeout ", absl::FormatDuration(timeout),
                     " exceeds the cluster maximum ", absl::FormatDuration(limits.max_timeout)));
  }
  // Below this the kernel kills a container before its first instruction.
  constexpr uint64_t kMinMemory = 4 << 20;
  if (lim.memory_bytes() > 0 && lim.memory_bytes() < kMinMemory) {
    return absl::InvalidArgumentError(absl::StrCat("spec.limits.memory_bytes ", lim.memory_bytes(),
                                                   " is below 4 MiB (0 means no limit)"));
  }
  // A capacity bitmask is at most 64 bits wide; real L3 caches have 8 to 20 ways.
  if (lim.cache_ways() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.limits.cache_ways ", lim.cache_ways(), " is more than 64 ways"));
  }
  constexpr uint32_t kMaxConcurrency = 1000000;
  if (spec.max_concurrency() > kMaxConcurrency) {
    return absl::InvalidArgumentError(absl::StrCat("spec.max_concurrency ", spec.max_concurrency(),
                                                   " exceeds ", kMaxConcurrency,
                                                   " (0 means no limit)"));
  }
  ASSIGN_OR_RETURN(const absl::Duration init_timeout,
                   CheckedFromProto(lim.init_timeout(), "spec.limits.init_timeout"));
  if (init_timeout > limits.max_timeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.limits.init_timeout ", absl::FormatDuration(init_timeout),
                     " exceeds the cluster maximum ", absl::FormatDuration(limits.max_timeout)));
  }
  const v1::WarmPolicy& warm = spec.warm();
  RETURN_IF_ERROR(CheckedFromProto(warm.keep_alive(), "spec.warm.keep_alive").status());
  constexpr uint32_t kMaxPrewarmed = 64;
  if (warm.prewarmed() > kMaxPrewarmed) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.warm.prewarmed ", warm.prewarmed(), " exceeds ", kMaxPrewarmed));
  }
  constexpr uint32_t kMaxInstanceConcurrency = 1000;
  if (warm.concurrency() > kMaxInstanceConcurrency) {
    return absl::InvalidArgumentError(absl::StrCat("spec.warm.concurrency ", warm.concurrency(),
                                                   " exceeds ", kMaxInstanceConcurrency));
  }
  if (warm.concurrency() > 1 && spec.lifetime() != v1::LIFETIME_PERSISTENT &&
      spec.language().empty()) {
    return absl::InvalidArgumentError(
        "spec.warm.concurrency is for persistent instances: an exec function runs a process "
        "per call anyway (set spec.lifetime PERSISTENT or spec.language)");
  }
  if (warm.max_instances() > 0 && warm.prewarmed() > warm.max_instances()) {
    return absl::InvalidArgumentError(absl::StrCat("spec.warm.prewarmed ", warm.prewarmed(),
                                                   " exceeds spec.warm.max_instances ",
                                                   warm.max_instances()));
  }
  switch (spec.runtime()) {
    case v1::RUNTIME_KIND_UNSPECIFIED:
    case v1::RUNTIME_KIND_PROCESS:
      break;
    case v1::RUNTIME_KIND_RUNC:
      if (spec.rootfs_digest().empty() && spec.rootfs_path().empty()) {
        return absl::InvalidArgumentError(
            "spec.runtime RUNC needs spec.rootfs_digest or spec.rootfs_path");
      }
      if (!spec.rootfs_path().empty()) RETURN_IF_ERROR(ValidateRootfsPath(spec.rootfs_path()));
      break;
    case v1::RUNTIME_KIND_CONTAINERD:
      if (spec.image().empty()) {
        return absl::InvalidArgumentError("spec.runtime CONTAINERD needs spec.image");
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("spec.runtime ", static_cast<int>(spec.runtime()), " is unknown"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FunctionRegistry>> FunctionRegistry::Create(FunctionStore* store,
                                                                           FunctionLimits limits,
                                                                           Clock* clock) {
  std::unique_ptr<FunctionRegistry> registry(new FunctionRegistry(store, limits, clock));
  ASSIGN_OR_RETURN(std::vector<v1::Function> stored, store->LoadAll());
  absl::MutexLock lock(&registry->mu_);
  for (v1::Function& function : stored) {
    Entry& entry = registry->functions_[function.spec().name()];
    entry.function = std::move(function);
  }
  ASSIGN_OR_RETURN(std::vector<v1::FunctionHistory> histories, store->LoadHistories());
  for (v1::FunctionHistory& history : histories) {
    auto it = registry->functions_.find(history.function());
    if (it == registry->functions_.end()) continue;  // deleted before it was stored
    Entry& entry = it->second;
    v1::FunctionStats* stats = entry.function.mutable_stats();
    stats->set_invocations(history.invocations());
    stats->set_failures(history.failures());
    entry.total_seconds = history.total_seconds();
    const auto& recent = history.recent_seconds();
    // The newest kRecentDurations, oldest first: the ring starts full or at 0.
    const int skip = std::max(0, recent.size() - static_cast<int>(kRecentDurations));
    entry.recent.assign(recent.begin() + skip, recent.end());
    entry.next = entry.recent.size() % kRecentDurations;
  }
  return registry;
}

absl::StatusOr<v1::Function> FunctionRegistry::Register(const v1::FunctionSpec& spec,
                                                        bool replace) {
  RETURN_IF_ERROR(ValidateFunctionSpec(spec, limits_));
  absl::MutexLock lock(&mu_);
  auto it = functions_.find(spec.name());
  if (it != functions_.end() && !replace) {
    return absl::AlreadyExistsError(absl::StrCat(
        "function '", spec.name(), "' is already registered; set replace to update it"));
  }
  v1::Function function;
  *function.mutable_spec() = spec;
  ToProto(clock_->Now(), function.mutable_updated());
  if (it != functions_.end()) {
    function.set_version(it->second.function.version() + 1);
    *function.mutable_created() = it->second.function.created();
  } else {
    function.set_version(1);
    *function.mutable_created() = function.updated();
  }
  // Persist first: a registration that was acknowledged must survive a restart.
  RETURN_IF_ERROR(store_->Put(function));
  Entry& entry = functions_[spec.name()];
  entry.function = function;
  dirty_.insert(spec.name());  // a replaced function's counters start again
  v1::Function out = entry.function;
  FillStats(entry, &out);
  return out;
}

absl::StatusOr<v1::Function> FunctionRegistry::Get(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("function '", name.substr(0, 80), "' is not registered"));
  }
  v1::Function out = it->second.function;
  FillStats(it->second, &out);
  return out;
}

std::vector<v1::Function> FunctionRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Function> out;
  out.reserve(functions_.size());
  for (const auto& [name, entry] : functions_) {
    out.push_back(entry.function);
    FillStats(entry, &out.back());
  }
  std::sort(out.begin(), out.end(), [](const v1::Function& a, const v1::Function& b) {
    return a.spec().name() < b.spec().name();
  });
  return out;
}

absl::Status FunctionRegistry::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (!functions_.contains(name)) {
    return absl::NotFoundError(
        absl::StrCat("function '", name.substr(0, 80), "' is not registered"));
  }
  RETURN_IF_ERROR(store_->Delete(name));
  functions_.erase(name);
  dirty_.erase(name);
  return absl::OkStatus();
}

void FunctionRegistry::RecordExecution(const std::string& name, absl::Duration execution, bool ok) {
  absl::MutexLock lock(&mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return;  // deleted while the invocation ran
  Entry& entry = it->second;
  v1::FunctionStats* stats = entry.function.mutable_stats();
  stats->set_invocations(stats->invocations() + 1);
  if (!ok) stats->set_failures(stats->failures() + 1);
  const double seconds = absl::ToDoubleSeconds(execution);
  entry.total_seconds += seconds;
  if (entry.recent.size() < kRecentDurations) {
    entry.recent.push_back(seconds);
  } else {
    entry.recent[entry.next] = seconds;
  }
  entry.next = (entry.next + 1) % kRecentDurations;
  dirty_.insert(name);
}

std::vector<double> FunctionRegistry::RecentInOrder(const Entry& entry) {
  std::vector<double> ordered;
  const size_t n = entry.recent.size();
  const size_t start = n < kRecentDurations ? 0 : entry.next;
  ordered.reserve(n);
  for (size_t i = 0; i < n; ++i) ordered.push_back(entry.recent[(start + i) % n]);
  return ordered;
}

std::vector<v1::FunctionHistory> FunctionRegistry::TakeDirtyHistories() {
  absl::MutexLock lock(&mu_);
  std::vector<v1::FunctionHistory> out;
  for (const std::string& name : dirty_) {
    auto it = functions_.find(name);
    if (it == functions_.end()) continue;
    const Entry& entry = it->second;
    v1::FunctionHistory& h = out.emplace_back();
    h.set_function(name);
    h.set_invocations(entry.function.stats().invocations());
    h.set_failures(entry.function.stats().failures());
    h.set_total_seconds(entry.total_seconds);
    for (double seconds : RecentInOrder(entry)) h.add_recent_seconds(seconds);
  }
  dirty_.clear();
  return out;
}

void FunctionRegistry::FillStats(const Entry& entry, v1::Function* out) const {
  const uint64_t n = entry.function.stats().invocations();
  if (n > 0) {
    ToProto(absl::Seconds(entry.total_seconds / static_cast<double>(n)),
            out->mutable_stats()->mutable_mean_execution());
  }
}

absl::StatusOr<std::vector<v1::FunctionDurations>> FunctionRegistry::Durations(
    const std::string& name, size_t limit) const {
  absl::MutexLock lock(&mu_);
  if (!name.empty() && !functions_.contains(name)) {
    return absl::NotFoundError(
        absl::StrCat("function '", name.substr(0, 80), "' is not registered"));
  }
  std::vector<v1::FunctionDurations> out;
  for (const auto& [fn_name, entry] : functions_) {
    if (!name.empty() && fn_name != name) continue;
    std::vector<double> ordered = RecentInOrder(entry);
    if (ordered.size() > limit) ordered.erase(ordered.begin(), ordered.end() - limit);
    v1::FunctionDurations d;
    d.set_function(fn_name);
    d.set_count(entry.function.stats().invocations());
    for (double s : ordered) ToProto(absl::Seconds(s), d.add_recent());
    const Summary summary = Summarize(ordered);
    ToProto(absl::Seconds(summary.mean), d.mutable_mean());
    ToProto(absl::Seconds(summary.p50), d.mutable_p50());
    ToProto(absl::Seconds(summary.p95), d.mutable_p95());
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.function() < b.function(); });
  return out;
}

}  // namespace fsched::master
