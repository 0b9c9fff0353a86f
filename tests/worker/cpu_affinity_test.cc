#include "worker/cpu_affinity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/worker/parked_thread.h"

namespace fsched::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CpuAffinityTest, ParsesTheKernelsListFormat) {
  EXPECT_THAT(*ParseCpuList("0"), ElementsAre(0));
  EXPECT_THAT(*ParseCpuList("0-3,8"), ElementsAre(0, 1, 2, 3, 8));
  EXPECT_THAT(*ParseCpuList("5,1-2,2,1"), ElementsAre(1, 2, 5));  // ascending, each once
  EXPECT_THAT(*ParseCpuList("7-7"), ElementsAre(7));
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(FormatCpuList({4}), "4");
}

TEST(CpuAffinityTest, BadListsSayWhatIsWrong) {
  struct Case {
    const char* list;
    const char* expect;
  } cases[] = {
      {"", "an empty CPU list"},
      {"0,,2", "has an empty element"},
      {"1,", "has an empty element"},
      {"x", "'x' is not a CPU number"},
      {"-1", "'' is not a CPU number"},
      {"2-", "'' is not a CPU number"},
      {"3-1", "the range 3-1 runs backwards"},
      {"0-1024", "CPU 1024 is past the largest, 1023"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<int>> cpus = ParseCpuList(c.list);
    ASSERT_FALSE(cpus.ok()) << c.list;
    EXPECT_EQ(cpus.status().code(), absl::StatusCode::kInvalidArgument) << c.list;
    EXPECT_THAT(std::string(cpus.status().message()), HasSubstr(c.expect)) << c.list;
  }
}

std::vector<int> CpusOfThread(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(::sched_getaffinity(tid, sizeof set, &set), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// Every thread of this process back on `cpus` (PinProcessToCpus only
// narrows: it takes no CPU outside the current set).
void RestoreCpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) CPU_SET(cpu, &set);
  ASSERT_EQ(::sched_setaffinity(0, sizeof set, &set), 0);
}

// The whole process moves: a thread that was already running, the calling
// thread, and threads started afterwards. Restored at the end (the test
// binary's other tests share the process; only this thread is left then).
TEST(CpuAffinityTest, PinsEveryThreadAndWhatStartsLater) {
  absl::StatusOr<std::vector<int>> original = AllowedCpus();
  ASSERT_TRUE(original.ok()) << original.status();
  ASSERT_FALSE(original->empty());
  const int target = original->back();

  std::optional<testing::ParkedThread> earlier(std::in_place);
  ASSERT_TRUE(PinProcessToCpus({target}).ok());
  EXPECT_THAT(CpusOfThread(earlier->tid()), ElementsAre(target));
  EXPECT_THAT(CpusOfThread(0), ElementsAre(target));
  std::vector<int> later_cpus;
  std::thread later([&] { later_cpus = CpusOfThread(0); });
  later.join();
  EXPECT_THAT(later_cpus, ElementsAre(target));
  earlier.reset();

  // Narrowing only: the CPUs it was moved off are not its to take back.
  if (original->size() > 1) {
    EXPECT_EQ(PinProcessToCpus(*original).code(), absl::StatusCode::kFailedPrecondition);
  }
  RestoreCpus(*original);
  EXPECT_EQ(CpusOfThread(0), *original);
}

TEST(CpuAffinityTest, ACpuTheProcessMayNotUseIsRefusedBeforeAnythingMoves) {
  absl::StatusOr<std::vector<int>> original = AllowedCpus();
  ASSERT_TRUE(original.ok()) << original.status();
  const int outside = original->back() + 1;  // past every CPU this process may use
  ASSERT_LT(outside, CPU_SETSIZE);
  const absl::Status refused = PinProcessToCpus({original->front(), outside});
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr(absl::StrCat("CPU ", outside, " is not one this worker may run on (",
                                     FormatCpuList(*original), ")")));
  EXPECT_EQ(CpusOfThread(0), *original);
}

// Like pinning: a thread already running, the calling thread, a thread and a
// process started afterwards. The process goes back to SCHED_OTHER at the end.
TEST(CpuAffinityTest, PutsEveryThreadAndWhatStartsLaterUnderThePolicy) {
  std::optional<testing::ParkedThread> earlier(std::in_place);
  ASSERT_TRUE(SetProcessCpuPolicy(SCHED_BATCH).ok());
  EXPECT_EQ(*CpuPolicyOf(earlier->tid()), SCHED_BATCH);
  EXPECT_EQ(*CpuPolicyOf(0), SCHED_BATCH);
  int later_policy = -1;
  std::thread later([&] { later_policy = *CpuPolicyOf(0); });
  later.join();
  EXPECT_EQ(later_policy, SCHED_BATCH);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(::sched_getscheduler(0) == SCHED_BATCH ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child did not inherit it";

  ASSERT_TRUE(SetProcessCpuPolicy(SCHED_OTHER).ok());
  EXPECT_EQ(*CpuPolicyOf(earlier->tid()), SCHED_OTHER);
  EXPECT_EQ(*CpuPolicyOf(0), SCHED_OTHER);
  earlier.reset();
}

TEST(CpuAffinityTest, OnlyTheFairPoliciesAreTaken) {
  const absl::Status refused = SetProcessCpuPolicy(SCHED_FIFO);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("is not SCHED_OTHER or SCHED_BATCH"));
  EXPECT_EQ(*CpuPolicyOf(0), SCHED_OTHER);
  EXPECT_EQ(CpuPolicyOf(-1).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace fsched::worker
