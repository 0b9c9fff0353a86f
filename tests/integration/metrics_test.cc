// Metrics end to end: a real master and worker export them, promtool accepts
// the text, and a real Prometheus server scrapes both and answers a PromQL
// query with the invocation count this test produced.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "fsched/v1/worker.grpc.pb.h"
#include "tests/fixtures/http_get.h"
#include "tests/integration/cluster_fixture.h"

namespace fsched {
namespace {

using ::testing::Not;

// A port nothing listens on now (for Prometheus, which cannot report a port 0 bind).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

class MetricsTest : public ClusterTest {
 protected:
  // promtool's own verdict on an exposition, with its complaints when it fails.
  void ExpectPromtoolAccepts(const std::string& text, const std::string& name) {
    const std::string path = dir_ + "/" + name + ".prom";
    testing::WriteFile(path, text);
    auto promtool = Process::Start({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + path},
                                   dir_ + "/" + name + ".promtool.log");
    ASSERT_TRUE(promtool.ok()) << promtool.status();
    const std::optional<int> code = (*promtool)->Wait(absl::Seconds(30));
    EXPECT_EQ(code, 0) << "promtool check metrics on " << name << ":\n"
                       << testing::ReadFile(dir_ + "/" + name + ".promtool.log");
  }

  std::string Scrape(int port) {
    absl::StatusOr<std::string> text = testing::HttpGet(port, "/metrics");
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }

  // The single value of an instant PromQL query, or nullopt while there is none.
  std::optional<double> Query(int port, const std::string& promql) {
    absl::StatusOr<std::string> body =
        testing::HttpGet(port, "/api/v1/query?query=" + UrlEncode(promql));
    if (!body.ok()) return std::nullopt;
    // {"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[t,"5"]}]}}
    const size_t value = body->find("\"value\":[");
    if (value == std::string::npos) return std::nullopt;
    const size_t open = body->find('"', body->find(',', value));
    const size_t close = body->find('"', open + 1);
    double v = 0;
    if (!absl::SimpleAtod(body->substr(open + 1, close - open - 1), &v)) return std::nullopt;
    return v;
  }
};

TEST_F(MetricsTest, MasterAndWorkerExportWhatHappenedAndPrometheusScrapesIt) {
  StartMaster(
      absl::StrCat("metrics: {port_file: ", dir_, "/master.metrics, max_function_labels: 2}\n"));
  worker_flags_ = {"--metrics_port_file", dir_ + "/w1.metrics"};
  StartWorker("w1", 2);
  WaitForReady({"w1"});
  auto master_metrics = testing::WaitForPortFile(dir_ + "/master.metrics", master_.get());
  ASSERT_TRUE(master_metrics.ok()) << master_metrics.status();
  auto worker_metrics = testing::WaitForPortFile(dir_ + "/w1.metrics", workers_["w1"].get());
  ASSERT_TRUE(worker_metrics.ok()) << worker_metrics.status();

  ASSERT_TRUE(Register("hello", {"echo", "hi"}).ok());
  ASSERT_TRUE(Register("broken", {"sh", "-c", "exit 3"}).ok());
  ASSERT_TRUE(Register("third", {"true"}).ok());
  constexpr int kHello = 7;
  for (int i = 0; i < kHello; ++i) {
    v1::InvocationResult result;
    ASSERT_TRUE(Invoke("hello", "", &result).ok());
    ASSERT_EQ(result.outcome(), v1::OUTCOME_OK);
  }
  v1::InvocationResult result;
  ASSERT_TRUE(Invoke("broken", "", &result).ok());
  EXPECT_EQ(result.outcome(), v1::OUTCOME_NONZERO_EXIT);
  ASSERT_TRUE(Invoke("third", "", &result).ok());  // beyond the 2-function label cap

  const std::string master_text = Scrape(*master_metrics);
  EXPECT_THAT(master_text,
              HasSubstr(absl::StrCat("fsched_invocations_total{function=\"hello\",outcome=\"ok\"} ",
                                     kHello)));
  EXPECT_THAT(
      master_text,
      HasSubstr("fsched_invocations_total{function=\"broken\",outcome=\"nonzero_exit\"} 1"));
  EXPECT_THAT(master_text,
              HasSubstr("fsched_invocations_total{function=\"_other\",outcome=\"ok\"} 1"));
  EXPECT_THAT(master_text, Not(HasSubstr("function=\"third\"")));
  EXPECT_THAT(master_text,
              HasSubstr(absl::StrCat(
                  "fsched_invocation_duration_seconds_count{function=\"hello\"} ", kHello)));
  EXPECT_THAT(master_text, HasSubstr("fsched_workers{state=\"ready\"} 1"));
  EXPECT_THAT(master_text, HasSubstr("fsched_slots 2"));
  EXPECT_THAT(master_text, HasSubstr("fsched_queue_length 0"));
  EXPECT_THAT(master_text,
              HasSubstr("fsched_cluster_worker_slots{worker=\"w1\",zone=\"default\"} 2"));
  EXPECT_THAT(master_text, HasSubstr("fsched_architecture{architecture=\"centralized\"} 1"));
  EXPECT_THAT(master_text, HasSubstr("fsched_routed_requests_total{architecture=\"centralized\","
                                     "code=\"ok\"} 9"));
  ExpectPromtoolAccepts(master_text, "master");

  const std::string worker_text = Scrape(*worker_metrics);
  EXPECT_THAT(worker_text,
              HasSubstr(absl::StrCat("fsched_worker_executions_total{function=\"hello\","
                                     "mode=\"cold\",outcome=\"ok\"} ",
                                     kHello)));
  EXPECT_THAT(worker_text, HasSubstr("fsched_worker_slots 2"));
  EXPECT_THAT(worker_text, HasSubstr("fsched_worker_master_connected 1"));
  EXPECT_THAT(worker_text, HasSubstr("fsched_node_info{node=\"w1\",role=\"worker\""));
  ExpectPromtoolAccepts(worker_text, "worker");

  // A real Prometheus server scrapes both; PromQL sees this test's invocations.
  const int prometheus_port = FreePort();
  testing::WriteFile(dir_ + "/prometheus.yml",
                     absl::StrCat("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                  "scrape_configs:\n"
                                  "  - job_name: fsched-master\n"
                                  "    static_configs: [{targets: ['127.0.0.1:",
                                  *master_metrics,
                                  "']}]\n"
                                  "  - job_name: fsched-worker\n"
                                  "    static_configs: [{targets: ['127.0.0.1:",
                                  *worker_metrics, "']}]\n"));
  auto prometheus =
      Process::Start({"/usr/bin/prometheus", "--config.file=" + dir_ + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir_ + "/tsdb",
                      absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port)},
                     dir_ + "/prometheus.log");
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  std::optional<double> invocations, executions, up;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    invocations = Query(prometheus_port,
                        "sum(fsched_invocations_total{job=\"fsched-master\",function=\"hello\"})");
    executions = Query(prometheus_port,
                       "sum(fsched_worker_executions_total{job=\"fsched-worker\","
                       "function=\"hello\"})");
    up = Query(prometheus_port, "sum(up)");
    if (invocations == kHello && executions == kHello && up == 2) break;
    ASSERT_TRUE((*prometheus)->running()) << testing::ReadFile(dir_ + "/prometheus.log");
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(invocations, kHello) << testing::ReadFile(dir_ + "/prometheus.log");
  EXPECT_EQ(executions, kHello);
  EXPECT_EQ(up, 2);

  // Calls entering at the worker: centralized ones are forwarded to the
  // master, dynamic ones make the selector draw ratios.
  auto worker = v1::Worker::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", worker_ports_["w1"])));
  for (const v1::Architecture architecture :
       {v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_CENTRALIZED, v1::ARCHITECTURE_DYNAMIC,
        v1::ARCHITECTURE_DYNAMIC, v1::ARCHITECTURE_DYNAMIC}) {
    v1::InvokeRequest request;
    request.set_function("hello");
    request.set_architecture(architecture);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    ASSERT_TRUE(worker->Invoke(&ctx, request, &result).ok());
  }
  const std::string worker_after = Scrape(*worker_metrics);
  EXPECT_THAT(worker_after,
              HasSubstr("fsched_forwarded_requests_total{architecture=\"centralized\"} 2"));
  EXPECT_THAT(worker_after, HasSubstr("fsched_arch_ratio{architecture=\"decentralized\","
                                      "function=\"hello\"}"));
  ExpectPromtoolAccepts(worker_after, "worker-after");

  // Every fsched metric the Grafana dashboard queries is one these processes export.
  const std::string exported = Scrape(*master_metrics) + worker_after;
  const std::string dashboard = testing::ReadFile(std::string(FSCHED_SOURCE_DIR) +
                                                  "/charts/fsched/dashboards/fsched-overview.json");
  ASSERT_FALSE(dashboard.empty());
  std::set<std::string> queried;
  for (size_t at = dashboard.find("fsched_"); at != std::string::npos;
       at = dashboard.find("fsched_", at + 1)) {
    size_t end = at;
    while (end < dashboard.size() &&
           (std::isalnum(static_cast<unsigned char>(dashboard[end])) || dashboard[end] == '_')) {
      ++end;
    }
    queried.insert(dashboard.substr(at, end - at));
    at = end;
  }
  EXPECT_GE(queried.size(), 20u);
  for (const std::string& name : queried) {
    // A sample line starts with the name, then labels or a space.
    const bool found = exported.find("\n" + name + "{") != std::string::npos ||
                       exported.find("\n" + name + " ") != std::string::npos;
    EXPECT_TRUE(found) << "the dashboard queries " << name << ", which no process exports";
  }
}

TEST_F(MetricsTest, AMetricsAddressThatCannotBeUsedStopsTheProcessWithTheReason) {
  const std::string config = dir_ + "/bad.yaml";
  testing::WriteFile(config, MasterConfig("metrics: {listen: nonsense}\n"));
  auto master = Process::Start({FSCHED_MASTER_BIN, "--config", config}, dir_ + "/bad.log");
  ASSERT_TRUE(master.ok());
  EXPECT_EQ((*master)->Wait(absl::Seconds(20)), 2);
  EXPECT_THAT(testing::ReadFile(dir_ + "/bad.log"), HasSubstr("metrics.listen"));

  // A port already taken: the worker names it and exits instead of running unobserved.
  StartMaster();
  auto taken = testing::WaitForPortFile(dir_ + "/master.port", master_.get());
  ASSERT_TRUE(taken.ok());
  auto worker = Process::Start({FSCHED_WORKER_BIN, "--master", master_address_, "--join_token",
                                kToken, "--metrics_listen", absl::StrCat("127.0.0.1:", *taken)},
                               dir_ + "/taken.log");
  ASSERT_TRUE(worker.ok());
  EXPECT_EQ((*worker)->Wait(absl::Seconds(20)), 2);
  EXPECT_THAT(testing::ReadFile(dir_ + "/taken.log"), HasSubstr("cannot serve metrics"));
}

}  // namespace
}  // namespace fsched
