// Conversions between absl time types and google.protobuf.{Duration,Timestamp}.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fsched {

void ToProto(absl::Duration d, google::protobuf::Duration* out);
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Duration FromProto(const google::protobuf::Duration& d);
/// A duration a client sent: INVALID_ARGUMENT naming `field` when it is
/// negative, its seconds and nanos disagree in sign, or nanos is out of range
/// (a hand-built message can be all three; protobuf's JSON parser refuses them).
absl::StatusOr<absl::Duration> CheckedFromProto(const google::protobuf::Duration& d,
                                                absl::string_view field);
absl::Time FromProto(const google::protobuf::Timestamp& t);
double ToSeconds(const google::protobuf::Duration& d);

}  // namespace fsched
