#include "common/proto_time.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace fsched {

absl::StatusOr<absl::Duration> CheckedFromProto(const google::protobuf::Duration& d,
                                                absl::string_view field) {
  // protobuf's own bounds: about 10,000 years either way.
  constexpr int64_t kMaxSeconds = 315576000000;
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000 || d.seconds() > kMaxSeconds ||
      d.seconds() < -kMaxSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is out of range (nanos must lie within ±999999999)"));
  }
  if ((d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " has seconds and nanos of different signs"));
  }
  if (d.seconds() < 0 || d.nanos() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is negative"));
  }
  return FromProto(d);
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rem = nanos % 1000000000;
  if (rem < 0) {  // Timestamp nanos must be non-negative
    rem += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

double ToSeconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() / 1e9;
}

}  // namespace fsched
