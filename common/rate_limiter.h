// Per-caller token buckets: each caller (a token's name) may make
// requests_per_second on average and `burst` at once. The clock is injected so
// tests step time instead of sleeping.
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "fsched/v1/auth.pb.h"

namespace fsched {

class RateLimiter {
 public:
  explicit RateLimiter(const Clock* clock);

  /// Takes one request from `caller`'s bucket: OK, or RESOURCE_EXHAUSTED
  /// carrying (RetryAfter) the wait until the next request fits. A limit of
  /// 0 requests per second never refuses.
  absl::Status Take(const std::string& caller, const v1::RateLimit& limit);

  /// INVALID_ARGUMENT naming what is wrong with a limit a user asked for.
  static absl::Status Validate(const v1::RateLimit& limit);

 private:
  struct Bucket {
    double available = 0;
    absl::Time refilled;
  };
  const Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsched
