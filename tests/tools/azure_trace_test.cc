#include "tools/workload/azure_trace.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fsched::workload {
namespace {

const std::string kData = std::string(FSCHED_SOURCE_DIR) + "/data";

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("fsched-trace-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file) << text;
    return file;
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(DurationDistributionTest, InterpolatesBetweenQuantilesAndKnowsItsMean) {
  auto d = DurationDistribution::FromQuantiles({{0, 1}, {0.5, 2}, {1, 4}});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_DOUBLE_EQ(d->Quantile(0), 1);
  EXPECT_DOUBLE_EQ(d->Quantile(0.25), 1.5);
  EXPECT_DOUBLE_EQ(d->Quantile(0.75), 3);
  EXPECT_DOUBLE_EQ(d->Quantile(1), 4);
  EXPECT_DOUBLE_EQ(d->Quantile(7), 4);  // clamped
  EXPECT_DOUBLE_EQ(d->Mean(), 0.5 * 1.5 + 0.5 * 3);
}

TEST(DurationDistributionTest, RejectsCurvesThatAreNotDistributions) {
  EXPECT_FALSE(DurationDistribution::FromQuantiles({{0, 1}}).ok());
  EXPECT_FALSE(DurationDistribution::FromQuantiles({{0.1, 1}, {1, 2}}).ok());
  EXPECT_FALSE(DurationDistribution::FromQuantiles({{0, 3}, {1, 2}}).ok());   // decreasing
  EXPECT_FALSE(DurationDistribution::FromQuantiles({{0, -1}, {1, 2}}).ok());  // negative
  EXPECT_FALSE(DurationDistribution::FromQuantiles({{0, 1}, {0, 1}, {1, 2}}).ok());
}

TEST(Azure2019Test, ReadsTheSharedEightHourSample) {
  auto trace = LoadAzure2019(kData + "/azure2019-100fn-8h");
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->functions.size(), 100u);
  EXPECT_EQ(trace->first_minute, 480);
  EXPECT_EQ(trace->minutes, 480u);
  EXPECT_EQ(trace->total_invocations, 339657u);  // as the data's README states
  EXPECT_EQ(trace->invocations.skipped, 0u);
  EXPECT_EQ(trace->durations.skipped, 0u);
  // The first duration row: percentiles 0,0,0,0,1,1265,1458 ms.
  const auto& fns = trace->functions;
  auto it = std::find_if(fns.begin(), fns.end(), [](const Azure2019Function& f) {
    return f.function.starts_with("1948876d67f7");
  });
  ASSERT_NE(it, fns.end());
  EXPECT_DOUBLE_EQ(it->duration.Quantile(1), 1.458);
  EXPECT_DOUBLE_EQ(it->duration.Quantile(0.5), 0);
}

TEST(Azure2019Test, SkipsAndCountsMalformedRows) {
  TempDir dir;
  const std::string header =
      "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
      "percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,"
      "percentile_Average_99,percentile_Average_100\n";
  dir.Write("durations.csv", header +
                                 "o,a,f1,10,5,1,20,1,2,5,10,12,18,20\n"
                                 "o,a,f2,10,5,1,20,1,2,5,x,12,18,20\n"   // not a number
                                 "o,a,f3,10,5,1,20,9,2,5,10,12,18,20\n"  // decreasing
                                 "o,a,f4,10,5\n"                         // short
                                 "o,a,f5,100,5,100,100,100,100,100,100,100,100,100\n");
  dir.Write("invocations.csv",
            "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n"
            "o,a,f1,http,1,2,3\n"
            "o,a,f2,http,1,1,1\n"   // its duration row was bad
            "o,a,f5,http,1,-1,1\n"  // negative count
            "o,a,f5,http,1,1\n"     // short
            "o,a,f9,http,1,1,1\n"   // no duration row
            "o,a,f5,timer,0,0,4\r\n");
  auto trace = LoadAzure2019(dir.path());
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->durations.rows, 5u);
  EXPECT_EQ(trace->durations.skipped, 3u);
  EXPECT_EQ(trace->invocations.rows, 6u);
  EXPECT_EQ(trace->invocations.skipped, 4u);
  EXPECT_EQ(trace->without_durations, 2u);
  ASSERT_EQ(trace->functions.size(), 2u);
  EXPECT_EQ(trace->total_invocations, 10u);
  EXPECT_EQ(trace->functions[1].per_minute, (std::vector<uint32_t>{0, 0, 4}));
  EXPECT_DOUBLE_EQ(trace->functions[1].duration.Mean(), 0.1);
  ASSERT_FALSE(trace->invocations.examples.empty());
  EXPECT_NE(trace->invocations.examples[0].find("invocations.csv:3"), std::string::npos)
      << trace->invocations.examples[0];
}

TEST(Azure2019Test, MissingOrUselessFilesAreErrors) {
  TempDir dir;
  EXPECT_EQ(LoadAzure2019(dir.path()).status().code(), absl::StatusCode::kNotFound);
  dir.Write("durations.csv", "header\nnot,a,row\n");
  dir.Write("invocations.csv", "HashOwner,HashApp,HashFunction,Trigger,1\n");
  const auto status = LoadAzure2019(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no usable row"), std::string::npos) << status;
}

TEST(Azure2021Test, ReadsTheSharedSampleSortedByArrival) {
  auto trace = LoadAzure2021(kData + "/azure2021/Azure2021_200.csv");
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->invocations.size(), 199u);
  EXPECT_EQ(trace->report.skipped, 0u);
  EXPECT_EQ(trace->functions.size(), 31u);  // 13 apps, 31 functions (ids unique per app)
  EXPECT_DOUBLE_EQ(trace->invocations.front().arrival, 0);
  for (size_t i = 1; i < trace->invocations.size(); ++i) {
    EXPECT_LE(trace->invocations[i - 1].arrival, trace->invocations[i].arrival);
  }
  const auto zero = std::count_if(trace->invocations.begin(), trace->invocations.end(),
                                  [](const auto& inv) { return inv.duration == 0; });
  EXPECT_EQ(zero, 8);  // as the data's README states
}

TEST(Azure2021Test, SkipsAndCountsMalformedRows) {
  TempDir dir;
  const std::string path = dir.Write("t.csv",
                                     "app,func,end_timestamp,duration\n"
                                     "a,f,10,2\n"
                                     "a,f,5,1\n"
                                     "b,f,7,0.5\n"   // same func id, other app: another function
                                     "a,f,1,2\n"     // ends before it starts
                                     "a,f,nan,1\n"   // not finite
                                     "a,f,3\n"       // short
                                     "a,f,3,-1\n"    // negative
                                     "a,f,zz,1\n");  // not a number
  auto trace = LoadAzure2021(path);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->report.rows, 8u);
  EXPECT_EQ(trace->report.skipped, 5u);
  ASSERT_EQ(trace->invocations.size(), 3u);
  EXPECT_EQ(trace->functions, (std::vector<std::string>{"a/f", "b/f"}));
  // Arrivals 8, 4, 6.5 -> sorted and shifted to start at 0.
  EXPECT_DOUBLE_EQ(trace->invocations[0].arrival, 0);
  EXPECT_DOUBLE_EQ(trace->invocations[1].arrival, 2.5);
  EXPECT_EQ(trace->invocations[1].function, 1u);
  EXPECT_DOUBLE_EQ(trace->invocations[2].arrival, 4);
}

TEST(Azure2021Test, WrongHeaderOrMissingFileIsAnError) {
  TempDir dir;
  EXPECT_EQ(LoadAzure2021(dir.path() + "/nope.csv").status().code(), absl::StatusCode::kNotFound);
  const std::string path = dir.Write("t.csv", "app,func,duration\na,f,1\n");
  EXPECT_EQ(LoadAzure2021(path).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsched::workload
