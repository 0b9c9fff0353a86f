// Conversions between absl time types and google.protobuf.{Duration,Timestamp}.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace fsched {

void ToProto(absl::Duration d, google::protobuf::Duration* out);
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Duration FromProto(const google::protobuf::Duration& d);
absl::Time FromProto(const google::protobuf::Timestamp& t);
double ToSeconds(const google::protobuf::Duration& d);

}  // namespace fsched
