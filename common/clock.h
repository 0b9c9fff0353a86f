// Time as an injected dependency, so the scheduler runs on real or virtual time.
#pragma once

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fsched {

/// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// \return the current time.
  virtual absl::Time Now() const = 0;
};

/// Wall-clock time.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  /// \return a process-wide instance (stateless, so sharing it is safe).
  static RealClock* Get();
};

/// Time that only moves when told to (tests and the simulator).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched
