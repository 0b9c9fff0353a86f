#include "http/seed_aliases.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "fsched/v1/admin.pb.h"
#include "fsched/v1/cluster.pb.h"
#include "fsched/v1/controller.pb.h"

namespace fsched::http {
namespace {

using ::testing::HasSubstr;

// The call an alias makes, its request parsed back into the method's type.
template <typename Request>
Request CallOf(absl::string_view method, absl::string_view path, absl::string_view body,
               const char* service, const char* rpc, const QueryParams& query = {}) {
  std::optional<SeedAlias> alias = MatchSeedAlias(method, path, query, body);
  Request request;
  EXPECT_TRUE(alias.has_value()) << path;
  if (!alias.has_value()) return request;
  EXPECT_TRUE(alias->call.has_value()) << path;
  if (!alias->call.has_value()) return request;
  EXPECT_TRUE(alias->call->ok()) << alias->call->status();
  if (!alias->call->ok()) return request;
  EXPECT_EQ((*alias->call)->service, service);
  EXPECT_EQ((*alias->call)->method, rpc);
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage((*alias->call)->json, &request).ok())
      << (*alias->call)->json;
  return request;
}

absl::Status ErrorOf(absl::string_view method, absl::string_view path, absl::string_view body) {
  std::optional<SeedAlias> alias = MatchSeedAlias(method, path, {}, body);
  if (!alias.has_value() || !alias->call.has_value()) return absl::OkStatus();
  return alias->call->status();
}

TEST(SeedAliasesTest, SeedOnesEntryIsAnInvocationWithItsArchitecture) {
  const auto r = CallOf<v1::InvokeRequest>(
      "POST", "/entry",
      R"({"fn_name": "hello-world", "payload": "Hello FaaS!", "arch": "dynamic"})",
      "fsched.v1.Controller", "Invoke");
  EXPECT_EQ(r.function(), "hello-world");
  EXPECT_EQ(r.payload(), "Hello FaaS!");
  EXPECT_EQ(r.architecture(), v1::ARCHITECTURE_DYNAMIC);
  // A JSON payload reaches the function as JSON; no arch is the entry node's own.
  const auto j =
      CallOf<v1::InvokeRequest>("POST", "/entry", R"({"fn_name": "f", "payload": {"n": 1}})",
                                "fsched.v1.Controller", "Invoke");
  EXPECT_EQ(j.payload(), R"({"n":1})");
  EXPECT_EQ(j.architecture(), v1::ARCHITECTURE_UNSPECIFIED);
  EXPECT_THAT(ErrorOf("POST", "/entry", R"({"payload": "x"})").message(), HasSubstr("\"fn_name\""));
  EXPECT_THAT(ErrorOf("POST", "/entry", "{nope").message(), HasSubstr("takes a JSON object"));
  EXPECT_EQ(ErrorOf("POST", "/entry", R"({"fn_name": "f", "arch": 3})").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SeedAliasesTest, SeedOnesAdminEndpointsMapToTheAdminService) {
  CallOf<v1::GetLoadRequest>("GET", "/load", "", "fsched.v1.Admin", "GetLoad");
  CallOf<v1::GetConfigurationRequest>("GET", "/configuration", "", "fsched.v1.Admin",
                                      "GetConfiguration");
  const auto arch = CallOf<v1::GetArchMetricsRequest>("GET", "/arch_metrics", "", "fsched.v1.Admin",
                                                      "GetArchMetrics", {{"function", "f"}});
  EXPECT_EQ(arch.function(), "f");
  const auto durations =
      CallOf<v1::GetDurationsRequest>("GET", "/durations", "", "fsched.v1.Admin", "GetDurations",
                                      {{"function", "f"}, {"limit", "5"}});
  EXPECT_EQ(durations.function(), "f");
  EXPECT_EQ(durations.limit(), 5u);
  const auto reload = CallOf<v1::SetArchitectureRequest>(
      "POST", "/reload", R"({"architecture": "federated"})", "fsched.v1.Admin", "SetArchitecture");
  EXPECT_EQ(reload.architecture(), "federated");
  const auto thresholds = CallOf<v1::UpdateThresholdsRequest>(
      "POST", "/update_threshold", R"({"soft_d2f": 1.2, "hard_d2f": 2.0})", "fsched.v1.Admin",
      "UpdateThresholds");
  EXPECT_DOUBLE_EQ(thresholds.thresholds().soft_d2f(), 1.2);
  EXPECT_DOUBLE_EQ(thresholds.thresholds().hard_d2f(), 2.0);
  EXPECT_FALSE(thresholds.thresholds().has_soft_f2c());  // left out: kept
}

TEST(SeedAliasesTest, SeedThreesTaskAndWorkerEndpoints) {
  const auto run = CallOf<v1::RunTaskRequest>(
      "POST", "/controller/task/run",
      R"({"command": "./run  --n 3", "task_id": "t1", "input_size": 1024})", "fsched.v1.Controller",
      "RunTask");
  EXPECT_EQ(run.task_id(), "t1");
  EXPECT_THAT(run.command(), ::testing::ElementsAre("./run", "--n", "3"));  // split, no shell
  EXPECT_DOUBLE_EQ(run.input_size(), 1024);
  const auto bench = CallOf<v1::BenchmarkTaskRequest>(
      "POST", "/controller/task/benchmark", R"({"command": ["sh", "-c", "x y"], "task_id": "t1"})",
      "fsched.v1.Controller", "BenchmarkTask");
  EXPECT_THAT(bench.command(), ::testing::ElementsAre("sh", "-c", "x y"));
  EXPECT_THAT(ErrorOf("POST", "/controller/task/run", R"({"task_id": "t1"})").message(),
              HasSubstr("\"command\""));
  EXPECT_THAT(ErrorOf("POST", "/controller/task/run", R"({"command": "x"})").message(),
              HasSubstr("\"task_id\""));
  const auto add =
      CallOf<v1::AddWorkerRequest>("POST", "/cluster/worker/add", R"({"host": "10.0.0.5:7001"})",
                                   "fsched.v1.Cluster", "AddWorker");
  EXPECT_EQ(add.address(), "10.0.0.5:7001");
  EXPECT_THAT(ErrorOf("POST", "/cluster/worker/add", "{}").message(), HasSubstr("\"host\""));
  // /submit: the parameters reach the function as JSON text.
  const auto submit = CallOf<v1::InvokeRequest>(
      "POST", "/submit", R"({"function_name": "f", "parameters": {"arg1": "value1", "n": 2}})",
      "fsched.v1.Controller", "Submit");
  EXPECT_EQ(submit.function(), "f");
  // JSON text (its keys in no particular order: a protobuf map's).
  google::protobuf::Struct parameters;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(submit.payload(), &parameters).ok())
      << submit.payload();
  EXPECT_EQ(parameters.fields().size(), 2u);
  EXPECT_EQ(parameters.fields().at("arg1").string_value(), "value1");
  EXPECT_EQ(parameters.fields().at("n").number_value(), 2);
  EXPECT_EQ(CallOf<v1::InvokeRequest>("POST", "/submit", R"({"function_name": "f"})",
                                      "fsched.v1.Controller", "Submit")
                .payload(),
            "");
  EXPECT_THAT(ErrorOf("POST", "/submit", R"({"parameters": {}})").message(),
              HasSubstr("\"function_name\""));
  EXPECT_THAT(ErrorOf("POST", "/submit", "[1]").message(), HasSubstr("JSON object"));
  CallOf<v1::ListWorkersRequest>("GET", "/cluster/workers", "", "fsched.v1.Cluster", "ListWorkers");
  CallOf<v1::ListWorkersRequest>("GET", "/cluster/worker/list", "", "fsched.v1.Cluster",
                                 "ListWorkers");
}

TEST(SeedAliasesTest, AWrongMethodIsAllowedOneAndAnUnknownPathIsNone) {
  std::optional<SeedAlias> alias = MatchSeedAlias("GET", "/entry", {}, "");
  ASSERT_TRUE(alias.has_value());
  EXPECT_FALSE(alias->call.has_value());
  EXPECT_STREQ(alias->allow, "POST");
  alias = MatchSeedAlias("POST", "/load", {}, "");
  ASSERT_TRUE(alias.has_value());
  EXPECT_STREQ(alias->allow, "GET");
  EXPECT_FALSE(MatchSeedAlias("GET", "/entries", {}, "").has_value());
}

}  // namespace
}  // namespace fsched::http
