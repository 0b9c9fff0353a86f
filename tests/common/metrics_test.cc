#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fixtures/http_get.h"

namespace fsched {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LabelCapTest, KeepsTheFirstValuesAndFoldsTheRestIntoOverflow) {
  LabelCap cap(2);
  EXPECT_EQ(cap.Value("a"), "a");
  EXPECT_EQ(cap.Value("b"), "b");
  EXPECT_EQ(cap.Value("c"), kOverflowLabel);
  EXPECT_EQ(cap.Value("a"), "a");  // a kept value stays itself
  EXPECT_EQ(cap.Value("d"), kOverflowLabel);
  EXPECT_EQ(cap.size(), 2u);
}

TEST(EnumLabelTest, StripsThePrefixAndLowers) {
  EXPECT_EQ(EnumLabel("OUTCOME_NONZERO_EXIT", "OUTCOME_"), "nonzero_exit");
  EXPECT_EQ(EnumLabel("WARM", "EXECUTION_MODE_"), "warm");
}

TEST(MetricsEndpointTest, RefusesAnAddressThatIsNotHostPort) {
  for (const char* bad : {"localhost", "127.0.0.1:http", "127.0.0.1:70000"}) {
    absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint = MetricsEndpoint::Start(bad);
    ASSERT_FALSE(endpoint.ok()) << bad;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(endpoint.status().message(), HasSubstr("host:port"));
  }
}

TEST(MetricsEndpointTest, ServesCountersHistogramsAndScrapeTimeGauges) {
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint = MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  MetricsEndpoint& metrics = **endpoint;
  ASSERT_GT(metrics.port(), 0);
  auto& counter =
      prometheus::BuildCounter().Name("fsched_test_total").Help("t").Register(metrics.registry());
  counter.Add({{"function", "f"}}).Increment(3);
  auto& histogram = prometheus::BuildHistogram()
                        .Name("fsched_test_seconds")
                        .Help("t")
                        .Register(metrics.registry());
  histogram.Add({}, LatencyBuckets()).Observe(0.2);
  int scrapes = 0;
  metrics.AddGauges([&scrapes](GaugeWriter& out) {
    ++scrapes;
    out.Add("fsched_test_gauge", "g", {{"state", "a"}}, scrapes);
    out.Add("fsched_test_gauge", "g", {{"state", "b"}}, 7);
  });

  absl::StatusOr<std::string> text = testing::HttpGet(metrics.port(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("fsched_test_total{function=\"f\"} 3"));
  EXPECT_THAT(*text, HasSubstr("fsched_test_seconds_bucket{le=\"0.25\"} 1"));
  EXPECT_THAT(*text, HasSubstr("fsched_test_seconds_bucket{le=\"0.1\"} 0"));
  EXPECT_THAT(*text, HasSubstr("fsched_test_gauge{state=\"a\"} 1"));
  EXPECT_THAT(*text, HasSubstr("fsched_test_gauge{state=\"b\"} 7"));
  // One family, one TYPE line, however many samples.
  EXPECT_EQ(text->find("# TYPE fsched_test_gauge gauge"),
            text->rfind("# TYPE fsched_test_gauge gauge"));

  // Gauges are computed on every scrape, not cached.
  text = testing::HttpGet(metrics.port(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("fsched_test_gauge{state=\"a\"} 2"));

  metrics.Stop();
  EXPECT_FALSE(testing::HttpGet(metrics.port(), "/metrics").ok());
  counter.Add({{"function", "f"}}).Increment();  // recording stays safe after Stop
}

TEST(MetricsEndpointTest, ABusyPortIsUnavailableWithTheAddress) {
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> first = MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> second = MetricsEndpoint::Start(taken);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(taken));
  // The first endpoint still serves.
  absl::StatusOr<std::string> text = testing::HttpGet((*first)->port(), "/metrics");
  EXPECT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, Not(HasSubstr("fsched_test")));
}

}  // namespace
}  // namespace fsched
