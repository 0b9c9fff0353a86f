// The set of registered functions: validation, versioning, durable storage,
// and the per-function statistics the master learns while serving them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/quantiles.h"
#include "fsched/v1/admin.pb.h"
#include "fsched/v1/types.pb.h"
#include "master/function_store.h"

namespace fsched::master {

struct FunctionLimits {
  absl::Duration max_timeout = absl::Minutes(15);
  size_t max_command_args = 256;
  size_t max_field_bytes = 4096;  // any single string in a spec
};

/// Checks a spec a client sent. INVALID_ARGUMENT with the field name on failure.
absl::Status ValidateFunctionSpec(const v1::FunctionSpec& spec, const FunctionLimits& limits);

class FunctionRegistry {
 public:
  /// Loads every stored function. The store must outlive the registry.
  static absl::StatusOr<std::unique_ptr<FunctionRegistry>> Create(FunctionStore* store,
                                                                  FunctionLimits limits,
                                                                  Clock* clock);

  /// ALREADY_EXISTS unless `replace`; INVALID_ARGUMENT for a bad spec.
  absl::StatusOr<v1::Function> Register(const v1::FunctionSpec& spec, bool replace);
  /// NOT_FOUND naming the function.
  absl::StatusOr<v1::Function> Get(const std::string& name) const;
  std::vector<v1::Function> List() const;
  absl::Status Delete(const std::string& name);

  /// Records a finished invocation's execution time for statistics and GetDurations.
  void RecordExecution(const std::string& name, absl::Duration execution, bool ok);
  /// Recent durations per function (all functions when `name` is empty).
  absl::StatusOr<std::vector<v1::FunctionDurations>> Durations(const std::string& name,
                                                               size_t limit) const;
  /// The counters and recent durations of the functions that ran since the
  /// last call, for the store (Create loads them back after a restart).
  std::vector<v1::FunctionHistory> TakeDirtyHistories();

 private:
  struct Entry {
    v1::Function function;
    std::vector<double> recent;  // ring of execution seconds
    size_t next = 0;
    double total_seconds = 0;
  };
  FunctionRegistry(FunctionStore* store, FunctionLimits limits, Clock* clock)
      : store_(store), limits_(limits), clock_(clock) {}
  void FillStats(const Entry& entry, v1::Function* out) const;
  /// The ring of recent durations, oldest first.
  static std::vector<double> RecentInOrder(const Entry& entry);

  FunctionStore* const store_;
  const FunctionLimits limits_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> functions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> dirty_ ABSL_GUARDED_BY(mu_);  // ran since TakeDirtyHistories
};

}  // namespace fsched::master
