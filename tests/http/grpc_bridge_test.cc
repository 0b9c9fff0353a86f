// The bridge refuses, before any call goes out, a service the process behind
// it does not serve, and says what it does serve.
#include "http/grpc_bridge.h"

#include <gmock/gmock.h>
#include <google/protobuf/empty.pb.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

namespace fsched::http {
namespace {

using ::testing::HasSubstr;

TEST(GrpcBridgeTest, AServiceTheNodeDoesNotServeIsNotFoundNamingWhatItServes) {
  // Nothing listens here: a call that went out would be UNAVAILABLE.
  GrpcBridge bridge(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
                    {.services = {"fsched.v1.Worker", "fsched.v1.Admin"}, .node_kind = "worker"});
  google::protobuf::Empty request, response;
  CallOptions call;
  call.timeout = absl::Seconds(5);
  absl::Status status = bridge.Call("fsched.v1.Controller.Submit", request, &response, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "this worker does not serve fsched.v1.Controller (its entry serves fsched.v1.Worker, "
            "fsched.v1.Admin): ask a master");
  // A served one goes out (and finds nobody).
  status = bridge.Call("fsched.v1.Admin.GetLoad", request, &response, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  // So does every service when the list is empty (a master's bridge).
  GrpcBridge master(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  EXPECT_EQ(master.Call("fsched.v1.Controller.Submit", request, &response, call).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(master.Call("Submit", request, &response, call).message()),
              HasSubstr("is not Service.Method"));
}

}  // namespace
}  // namespace fsched::http
