// Predicts how long an invocation will run, learning online from every
// completed invocation (DESIGN.md, "Run-time predictor"). History is keyed by
// function and input size; the seeds keyed it by process id, so it never engaged.
//
// Per key: tsi = mean of {mean, EWMA (0.8 on the newest), linear trend at the
// next step}; tsu = max(0.7·tsi − 0.3·σ, 0). An unseen input size of a function
// with ≥ 2 sizes seen scales by a least-squares power law t = a·size^b; with one
// size seen, that size's estimate is used. An unseen function gets the default.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fsched/v1/types.pb.h"

namespace fsched::scheduling {

class RuntimePredictor {
 public:
  struct Options {
    size_t history = 64;       // samples kept per (function, size)
    double ewma_weight = 0.8;  // weight of the newest sample
    absl::Duration default_estimate = absl::Seconds(2);
  };
  struct Estimate {
    double tsi = 0;  // ensemble estimate, seconds
    double tsu = 0;  // conservative estimate used for ordering, seconds
    double sigma = 0;
    // The median of the history: a typical call, which a sum over many queued
    // calls (the starvation guard's backlog) should count; mean-like
    // estimates carry one rare long call into all of them.
    double median = 0;
    size_t samples = 0;  // 0 = default or scaled from other sizes
  };

  explicit RuntimePredictor(Options options) : options_(options) {}

  /// Thread-safe. `input_size` 0 means "no size given".
  Estimate Predict(const std::string& function, double input_size) const;
  /// Seconds to order by: Predict(...).tsu.
  double PredictSeconds(const std::string& function, double input_size) const {
    return Predict(function, input_size).tsu;
  }
  void Observe(const std::string& function, double input_size, double seconds);
  void Forget(const std::string& function);

  /// The learned state of a function, for persistence; and its restoration.
  v1::RuntimeModel Export(const std::string& function) const;
  void Import(const v1::RuntimeModel& model);
  /// Functions observed since the last call (each returned once).
  std::vector<std::string> TakeDirty();

  const Options& options() const { return options_; }

 private:
  struct History {
    std::vector<double> ring;  // up to options_.history samples
    size_t next = 0;           // ring position of the next write once full
    double ewma = 0;
    uint64_t observations = 0;
    Estimate estimate;  // of the samples above; kept current so Predict is O(1)
    std::vector<double> Ordered(size_t capacity) const;  // oldest first
  };
  struct FunctionModel {
    absl::flat_hash_map<double, History> by_size;
  };
  Estimate FromHistory(const History& h) const;  // O(history)

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, FunctionModel> models_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched::scheduling
