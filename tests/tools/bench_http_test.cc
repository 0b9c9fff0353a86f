// How fsched-bench reads the HTTP entry's answers into invocation results.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "common/proto_time.h"
#include "tools/fsched-bench/http_targets.h"

namespace fsched::bench {
namespace {

using ::testing::HasSubstr;
using Headers = std::vector<std::pair<std::string, std::string>>;

TEST(ReadFunctionReplyTest, AnAnsweredCallCarriesItsFactsInHeaders) {
  v1::InvocationResult result;
  result.set_message("left from an earlier call");
  const Headers headers = {
      {"Content-Type", "application/octet-stream"},
      {"x-fsched-invocation-id", "inv-7"},
      {"X-Fsched-Outcome", "ok"},
      {"X-Fsched-Worker", "w2"},
      {"X-Fsched-Mode", "prewarmed"},
      {"X-Fsched-Attempts", "2"},
      {"X-Fsched-Output-Truncated", "true"},
      {"Server-Timing",
       "queue;dur=1.500, cold-start;dur=0.000, init;dur=12.250, execution;dur=0.042, "
       "total;dur=14.000, unknown;desc=\"x\""},
  };
  const grpc::Status status = ReadFunctionReply(200, headers, "HELLO", &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.invocation_id(), "inv-7");
  EXPECT_EQ(result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(result.worker_id(), "w2");
  EXPECT_EQ(result.mode(), v1::EXECUTION_MODE_PREWARMED);
  EXPECT_EQ(result.attempts(), 2u);
  EXPECT_TRUE(result.stdout_truncated());
  EXPECT_EQ(result.stdout(), "HELLO");
  EXPECT_EQ(result.message(), "");
  EXPECT_EQ(FromProto(result.timings().queue_wait()), absl::Microseconds(1500));
  EXPECT_EQ(FromProto(result.timings().init()), absl::Microseconds(12250));
  EXPECT_EQ(FromProto(result.timings().execution()), absl::Microseconds(42));
  EXPECT_EQ(FromProto(result.timings().total()), absl::Milliseconds(14));
}

TEST(ReadFunctionReplyTest, AFailedFunctionIsAnAnsweredCallWithItsOutcomeAndStderr) {
  v1::InvocationResult result;
  const grpc::Status status =
      ReadFunctionReply(502, {{"X-Fsched-Outcome", "nonzero_exit"}, {"X-Fsched-Exit-Code", "4"}},
                        "exit status 4\noops\nmore\n", &result);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(result.outcome(), v1::OUTCOME_NONZERO_EXIT);
  EXPECT_EQ(result.exit_code(), 4);
  EXPECT_EQ(result.message(), "exit status 4");
  EXPECT_EQ(result.stderr(), "oops\nmore\n");
  EXPECT_EQ(result.stdout(), "");
}

TEST(ReadFunctionReplyTest, AnEntrysErrorKeepsItsGrpcStatusAndMessage) {
  v1::InvocationResult result;
  grpc::Status status = ReadFunctionReply(
      404, {{"Content-Type", "application/json"}},
      R"({"code":5,"status":"NOT_FOUND","message":"function 'x' is not registered"})", &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "function 'x' is not registered");
  status = ReadFunctionReply(
      429, {}, R"({"code":8,"status":"RESOURCE_EXHAUSTED","message":"queue full"})", &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ReadFunctionReplyTest, AnAnswerWithoutAGrpcStatusMapsAsGrpcMapsHttp) {
  v1::InvocationResult result;
  // A proxy's page: gRPC's HTTP-to-status mapping, the body kept for the reader.
  grpc::Status status = ReadFunctionReply(502, {}, "<html>Bad Gateway</html>", &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("HTTP 502: <html>Bad Gateway"));
  EXPECT_EQ(ReadFunctionReply(401, {}, "", &result).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReadFunctionReply(404, {}, "", &result).error_code(), grpc::StatusCode::NOT_FOUND);
  // An outcome word fsched does not know is not taken for an answer.
  EXPECT_EQ(ReadFunctionReply(200, {{"X-Fsched-Outcome", "splendid"}}, "x", &result).error_code(),
            grpc::StatusCode::UNKNOWN);
  // Nor is a JSON body whose code is out of gRPC's range.
  EXPECT_EQ(ReadFunctionReply(418, {}, R"({"code":99,"message":"teapot"})", &result).error_code(),
            grpc::StatusCode::UNKNOWN);
}

HttpTargetOptions At(std::vector<std::string> addresses, int max_connections = 16) {
  HttpTargetOptions options;
  options.addresses = std::move(addresses);
  options.max_connections = max_connections;
  return options;
}

TEST(HttpTargetsTest, RefusesAddressesAndLimitsItCannotUse) {
  EXPECT_EQ(HttpTargets(At({})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(HttpTargets(At({"localhost"})).status().message()),
              HasSubstr("'localhost' is not host:port"));
  EXPECT_THAT(std::string(HttpTargets(At({"127.0.0.1:1"}, 0)).status().message()),
              HasSubstr("--http_connections"));
}

// A call to a port where nothing listens is UNAVAILABLE naming the URL, from
// both the blocking and the open-loop path.
TEST(HttpTargetsTest, AnEntryThatIsNotThereIsUnavailable) {
  auto targets = HttpTargets(At({"127.0.0.1:1"}));
  ASSERT_TRUE(targets.ok()) << targets.status();
  v1::InvokeRequest request;
  request.set_function("f");
  v1::InvocationResult result;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status status = (*targets)->Invoke(0, &ctx, request, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("http://127.0.0.1:1/function/f"));

  absl::Notification done;
  grpc::ClientContext async_ctx;
  async_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  (*targets)->AsyncInvoke(0, &async_ctx, &request, &result, [&](grpc::Status s) {
    status = s;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);

  // What POST /function cannot carry is refused, not dropped.
  request.add_args("x");
  grpc::ClientContext refused_ctx;
  refused_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ((*targets)->Invoke(0, &refused_ctx, request, &result).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace fsched::bench
