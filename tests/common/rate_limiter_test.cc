// Token buckets on a manual clock: the burst, the refill, the wait a refusal
// names, and the limits a user may ask for.
#include "common/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/grpc_status.h"

namespace fsched {
namespace {

using ::testing::HasSubstr;

v1::RateLimit Limit(double per_second, uint32_t burst) {
  v1::RateLimit limit;
  limit.set_requests_per_second(per_second);
  limit.set_burst(burst);
  return limit;
}

TEST(RateLimiterTest, ABurstThenTheRateAndTheRefusalNamesTheWait) {
  ManualClock clock(absl::FromUnixSeconds(100));
  RateLimiter limiter(&clock);
  const v1::RateLimit limit = Limit(2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("ci", limit).ok()) << i;
  absl::Status refused = limiter.Take("ci", limit);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("'ci' may make 2 requests per second (burst 3)"));
  EXPECT_THAT(refused.message(), HasSubstr("retry in 500ms"));
  ASSERT_TRUE(RetryAfter(refused).has_value());
  EXPECT_EQ(*RetryAfter(refused), absl::Milliseconds(500));
  // Another caller has a bucket of its own.
  EXPECT_TRUE(limiter.Take("other", limit).ok());
  // After the wait it names, one more fits, and only one.
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Take("ci", limit).ok());
  EXPECT_FALSE(limiter.Take("ci", limit).ok());
  // A long quiet spell refills to the burst, not beyond.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("ci", limit).ok()) << i;
  EXPECT_FALSE(limiter.Take("ci", limit).ok());
}

TEST(RateLimiterTest, NoRateNeverRefusesAndTheBurstDefaultsToOneSecond) {
  ManualClock clock;
  RateLimiter limiter(&clock);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limiter.Take("free", v1::RateLimit()).ok());
  const v1::RateLimit five = Limit(5, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Take("five", five).ok()) << i;
  EXPECT_FALSE(limiter.Take("five", five).ok());
  // Below one per second the burst is one request.
  const v1::RateLimit slow = Limit(0.1, 0);
  EXPECT_TRUE(limiter.Take("slow", slow).ok());
  absl::Status refused = limiter.Take("slow", slow);
  EXPECT_EQ(*RetryAfter(refused), absl::Seconds(10));
}

TEST(RateLimiterTest, OnlySensibleLimitsAreAccepted) {
  EXPECT_TRUE(RateLimiter::Validate(v1::RateLimit()).ok());
  EXPECT_TRUE(RateLimiter::Validate(Limit(50, 100)).ok());
  EXPECT_EQ(RateLimiter::Validate(Limit(-1, 0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::Validate(Limit(std::nan(""), 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::Validate(Limit(1e9, 0)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(RateLimiter::Validate(Limit(0, 10)).message(), HasSubstr("burst needs"));
  EXPECT_EQ(RateLimiter::Validate(Limit(10, 2000000)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RateLimiterTest, TheRetryHintBecomesATrailerAtTheEdgeOnly) {
  absl::Status status = absl::ResourceExhaustedError("full");
  EXPECT_FALSE(RetryAfter(status).has_value());
  SetRetryAfter(&status, absl::Microseconds(1500));
  EXPECT_EQ(*RetryAfter(status), absl::Milliseconds(2));  // whole milliseconds, rounded up
  grpc::Status edge = ToGrpcStatus(status);
  EXPECT_EQ(edge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(edge.error_message(), "full");
}

}  // namespace
}  // namespace fsched
