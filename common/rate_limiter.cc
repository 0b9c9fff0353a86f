#include "common/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace fsched {
namespace {

constexpr double kMaxRate = 1e6;

double Burst(const v1::RateLimit& limit) {
  return limit.burst() > 0 ? limit.burst() : std::max(1.0, std::ceil(limit.requests_per_second()));
}

}  // namespace

RateLimiter::RateLimiter(const Clock* clock) : clock_(clock) {}

absl::Status RateLimiter::Validate(const v1::RateLimit& limit) {
  const double rate = limit.requests_per_second();
  if (!std::isfinite(rate) || rate < 0 || rate > kMaxRate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requests_per_second must be between 0 (no limit) and ", kMaxRate, ", not ", rate));
  }
  if (rate == 0 && limit.burst() > 0) {
    return absl::InvalidArgumentError("burst needs requests_per_second above 0");
  }
  if (limit.burst() > kMaxRate) {
    return absl::InvalidArgumentError(absl::StrCat("burst must be at most ", kMaxRate));
  }
  return absl::OkStatus();
}

absl::Status RateLimiter::Take(const std::string& caller, const v1::RateLimit& limit) {
  const double rate = limit.requests_per_second();
  if (!(rate > 0)) return absl::OkStatus();
  const double burst = Burst(limit);
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = buckets_.try_emplace(caller, Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!fresh) {
    const double refill = absl::ToDoubleSeconds(now - bucket.refilled) * rate;
    bucket.available = std::min(burst, bucket.available + std::max(0.0, refill));
    bucket.refilled = std::max(bucket.refilled, now);
  }
  if (bucket.available >= 1) {
    bucket.available -= 1;
    return absl::OkStatus();
  }
  const absl::Duration wait = absl::Seconds((1 - bucket.available) / rate);
  absl::Status refused = absl::ResourceExhaustedError(
      absl::StrCat("'", caller, "' may make ", rate, " requests per second (burst ",
                   static_cast<uint64_t>(burst), "); retry in ",
                   absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(1)))));
  SetRetryAfter(&refused, wait);
  return refused;
}

}  // namespace fsched
